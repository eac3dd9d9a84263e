import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { publicOrigin } from '../../src/config/index.js';

const base = { router_ip: '0.0.0.0', router_port: 9999 } as const;

describe('publicOrigin', () => {
  it('uses public_url when set, without a trailing slash', () => {
    assert.equal(publicOrigin({ ...base, public_url: 'https://console.example.com', public_host: 'other.example.com' }), 'https://console.example.com');
  });

  it('prefers public_host over public_ip', () => {
    assert.equal(publicOrigin({ ...base, public_host: 'gw.example.com', public_ip: '203.0.113.5' }), 'http://gw.example.com:9999');
    assert.equal(publicOrigin({ ...base, public_ip: '203.0.113.5' }), 'http://203.0.113.5:9999');
  });

  it('uses https when the gateway serves TLS itself', () => {
    assert.equal(publicOrigin({ ...base, public_host: 'gw.example.com', tls_cert_file: '/etc/cert.pem' }), 'https://gw.example.com:9999');
  });

  it('drops the scheme\'s default port, as a browser\'s Origin header does', () => {
    assert.equal(publicOrigin({ ...base, router_port: 443, public_host: 'gw.example.com', tls_cert_file: '/etc/cert.pem' }), 'https://gw.example.com');
  });

  it('falls back to a specific listen address, then localhost', () => {
    assert.equal(publicOrigin({ ...base, router_ip: '192.0.2.4' }), 'http://192.0.2.4:9999');
    assert.equal(publicOrigin(base), 'http://localhost:9999');
    assert.equal(publicOrigin({ ...base, router_ip: '::' }), 'http://localhost:9999');
  });

  it('brackets an IPv6 address', () => {
    assert.equal(publicOrigin({ ...base, public_ip: '2001:db8::5' }), 'http://[2001:db8::5]:9999');
  });
});
