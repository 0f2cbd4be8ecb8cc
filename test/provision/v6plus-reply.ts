/** The reply format of v6mig-prov §3.4 with the rules JPNE's server hands out for v6plus. */
export const V6PLUS_REPLY = {
  enabler_name: 'JPNE',
  service_name: 'v6plus',
  ttl: 86400,
  token: '640756965820d3b9025b6941f9590af6802830ba58663fe8f043dc92b576f17a',
  order: ['map_e'],
  map_e: {
    br: '2404:9200:225:100::64',
    rules: [
      { ipv6: '240b:10::/32', ipv4: '106.72.0.0/16', ea_length: 24, psid_offset: 4 },
      { ipv6: '240b:12::/32', ipv4: '14.8.0.0/16', ea_length: 24, psid_offset: 4 },
    ],
  },
};
