/**
 * The reply example of v6mig-prov 1.1 §3.4 (HB46PP, IPv6 Promotion Council,
 * CC BY 4.0: repository v6pc/v6mig-prov, spec.md), whole: every kind the
 * spec defines, with the order it gives.
 */
export const SPEC_REPLY_EXAMPLE = {
  enabler_name: 'A VNE',
  service_name: 'Highspeed 4over6',
  isp_name: 'ISP-A',
  ttl: 86400,
  token: '640756965820d3b9025b6941f9590af6802830ba58663fe8f043dc92b576f17a',
  auth: 'ok',
  order: ['464xlat', 'map_e', 'dslite'],
  map_e: {
    version: 0,
    mesh: true,
    br: '2001:db8:1::1',
    rules: [{ ipv6: '2001:db8:1:2000::/52', ipv4: '203.0.113.0/24', ea_length: 12, psid_offset: 4 }],
  },
  dslite: { aftr: 'aftr.example.net' },
  lw4o6: { lwaftr: 'lwaftr.example.net', ipv6: '2001:db8:3:100::/56', ipv4: '203.0.113.16', psid: 3, psid_length: 8, psid_offset: 6 },
  map_t: { dmr: '2001:db8:5::/64', rules: [{ ipv6: '2001:db8:5:100::/56', ipv4: '203.0.113.32/28', ea_length: 8, psid_offset: 4 }] },
  '464xlat': { nat64prefix: '2001:db8:6::/96' },
  ipip: [{ ipv6_local: '2001:db8:7:100::7', ipv6_remote: '2001:db8:7::1', ipv4: '203.0.113.0/29' }],
};
