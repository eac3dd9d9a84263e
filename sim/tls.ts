import { generateKeyPair, randomBytes, X509Certificate } from 'node:crypto';
import { promisify } from 'node:util';
import { isIP } from 'node:net';
import forge from 'node-forge';

export interface TlsMaterial {
  /** Node certificate (PEM), possibly followed by its chain. */
  certPem: string;
  keyPem: string;
  /** What clients trust: the cluster CA, or the given certificate when files were supplied. */
  caPem: string;
  /** SHA-256 of the node certificate, `AA:BB:...` as the Proxmox UI shows it. */
  fingerprint: string;
}

const YEAR_MS = 365 * 24 * 3600 * 1000;

type KeyPair = { privateKey: forge.pki.rsa.PrivateKey; publicKey: forge.pki.rsa.PublicKey };

async function newKeyPair(): Promise<KeyPair> {
  // forge's pure-JS key generation takes seconds; Node's native one runs off the main thread.
  const { privateKey } = await promisify(generateKeyPair)('rsa', { modulusLength: 2048 });
  const forgeKey = forge.pki.privateKeyFromPem(privateKey.export({ type: 'pkcs1', format: 'pem' }).toString());
  return { privateKey: forgeKey, publicKey: forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e) };
}

let processKeys: Promise<[KeyPair, KeyPair]> | undefined;

/**
 * A 2048-bit RSA key takes most of a second here, so one process makes its CA and node keys once.
 * Each simulator still gets its own CA (a random OU in its name), so trusting one never trusts another.
 */
function clusterKeys(): Promise<[KeyPair, KeyPair]> {
  processKeys ??= Promise.all([newKeyPair(), newKeyPair()]);
  return processKeys;
}

function newCertificate(publicKey: forge.pki.rsa.PublicKey, years: number): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  // A positive serial: clear the top bit so DER does not read it as negative.
  const serial = randomBytes(16);
  serial[0] = (serial[0] ?? 0) & 0x7f;
  cert.serialNumber = serial.toString('hex');
  cert.validity.notBefore = new Date(Date.now() - 24 * 3600 * 1000);
  cert.validity.notAfter = new Date(Date.now() + years * YEAR_MS);
  return cert;
}

export function certificateFingerprint(certPem: string): string {
  return new X509Certificate(certPem).fingerprint256;
}

/** A cluster CA and a node certificate signed by it, as `pvecm` sets up, valid for `host`. */
export async function generateClusterTls(host: string, nodeName: string): Promise<TlsMaterial> {
  const [ca, node] = await clusterKeys();
  const caCert = newCertificate(ca.publicKey, 10);
  const caSubject = [
    { name: 'commonName', value: 'Proxmox Virtual Environment' },
    { shortName: 'OU', value: randomBytes(16).toString('hex') },
    { name: 'organizationName', value: 'PVE Cluster Manager CA' },
  ];
  caCert.setSubject(caSubject);
  caCert.setIssuer(caSubject);
  caCert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  caCert.sign(ca.privateKey, forge.md.sha256.create());

  const nodeCert = newCertificate(node.publicKey, 2);
  nodeCert.setSubject([
    { name: 'organizationName', value: 'PVE Cluster Node' },
    { name: 'organizationalUnitName', value: 'PVE Cluster Node' },
    { name: 'commonName', value: `${nodeName}.localdomain` },
  ]);
  nodeCert.setIssuer(caSubject);
  const altNames: { type: number; ip?: string; value?: string }[] = [];
  for (const name of new Set([host, '127.0.0.1', 'localhost', nodeName])) {
    // SAN type 7 is iPAddress, type 2 is dNSName.
    altNames.push(isIP(name) ? { type: 7, ip: name } : { type: 2, value: name });
  }
  nodeCert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, nonRepudiation: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  nodeCert.sign(ca.privateKey, forge.md.sha256.create());

  // forge writes CRLF line ends; Proxmox's PEM files use LF.
  const pem = (text: string) => text.replace(/\r\n/g, '\n');
  const certPem = pem(forge.pki.certificateToPem(nodeCert));
  return {
    certPem,
    keyPem: pem(forge.pki.privateKeyToPem(node.privateKey)),
    caPem: pem(forge.pki.certificateToPem(caCert)),
    fingerprint: certificateFingerprint(certPem),
  };
}

/** Operator-supplied certificate and key; the certificate file is what clients are told to trust. */
export function givenTls(certPem: string, keyPem: string): TlsMaterial {
  return { certPem, keyPem, caPem: certPem, fingerprint: certificateFingerprint(certPem) };
}
