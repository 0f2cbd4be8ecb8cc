/**
 * The manuals pass mandoc's lint at warning level, as .ci/run demands.
 * mandoc must be installed: a missing mandoc fails here rather than skip.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, readRepoFile } from './mdoc.js';

const PAGES = ['man/maped.8', 'man/mapedctl.8', 'man/maped.conf.5'];

describe('mandoc -Tlint -Wwarning', () => {
  for (const page of PAGES) {
    it(`${page} has no warning or error`, () => {
      const lint = spawnSync('mandoc', ['-Tlint', '-Wwarning', page], { cwd: REPO_ROOT, encoding: 'utf8' });
      expect(lint.error?.message ?? null, 'mandoc is not installed (apt-get install mandoc)').toBeNull();
      expect(lint.stdout + lint.stderr).toBe('');
      expect(lint.status).toBe(0);
    });
  }

  it('the pages carry the OpenBSD base conventions: RCS id, $Mdocdate$, bare .Os', () => {
    for (const page of PAGES) {
      const text = readRepoFile(page);
      expect(text.split('\n')[0], page).toMatch(/^\.\\"\t\$OpenBSD\$$/);
      expect(text, page).toMatch(/^\.Dd \$Mdocdate\$$/m);
      expect(text, page).toMatch(/^\.Os$/m);
    }
  });

  it('the pages have the sections the issue asks for, in mdoc order', () => {
    const wanted: Record<string, string[]> = {
      'man/maped.8': ['NAME', 'SYNOPSIS', 'DESCRIPTION', 'FILES', 'EXIT STATUS', 'EXAMPLES', 'SEE ALSO', 'STANDARDS', 'CAVEATS'],
      'man/mapedctl.8': ['NAME', 'SYNOPSIS', 'DESCRIPTION', 'FILES', 'EXIT STATUS', 'EXAMPLES', 'SEE ALSO', 'STANDARDS'],
      'man/maped.conf.5': ['NAME', 'DESCRIPTION', 'FILES', 'EXAMPLES', 'SEE ALSO', 'STANDARDS'],
    };
    for (const [page, sections] of Object.entries(wanted)) {
      const present = [...readRepoFile(page).matchAll(/^\.Sh (.+)$/gm)].map((m) => m[1]!);
      expect(present.filter((s) => sections.includes(s)), page).toEqual(sections);
    }
  });

  it('maped(8) cites RFC 7597, 7598 and 7599 and the pages the issue names', () => {
    const text = readRepoFile('man/maped.8');
    for (const rfc of ['RFC 7597', 'RFC 7598', 'RFC 7599']) expect(text).toContain(`.%R ${rfc}\n`);
    for (const page of ['dhcp6leased 8', 'pf.conf 5', 'gif 4', 'ifconfig 8', 'route 8', 'rcctl 8']) {
      expect(text).toContain(`.Xr ${page}`);
    }
  });
});
