/** A MapedConfig for tests, made the way maped makes one: by parsing maped.conf text. */
import { parseConfig, type MapedConfig } from '../../src/config/index.js';

export function configFrom(text = 'wan em0\n', path = '/etc/maped.conf'): MapedConfig {
  const parsed = parseConfig(text, path);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.value;
}
