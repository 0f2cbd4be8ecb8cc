/**
 * HB46PP, "HTTP-Based IPv4 over IPv6 Provisioning Protocol" (v6mig-prov 1.1,
 * IPv6 Promotion Council of Japan): find the provisioning server by DNS,
 * ask it over IPv6, validate its JSON, keep the last good reply, and follow
 * the spec's timers. Network and state-dir I/O only; nothing here knows how
 * the softwire is configured on the system.
 */
export * from './discovery-record.js';
export * from './dns-lookup.js';
export * from './hb46pp-client.js';
export * from './http-get.js';
export * from './reply.js';
export * from './reply-cache.js';
export * from './request.js';
export * from './schedule.js';
