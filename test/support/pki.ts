/**
 * A throwaway PKI made with `openssl` in a temporary directory (no certificate is committed), and
 * an HTTPS client that trusts it: for the TLS tests of the gRPC ports and of the HTTP port.
 */
import { execFileSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';

/** The files of the throwaway PKI. */
export interface Pki {
  dir: string;
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A second CA the scheduler does not know, and a client and a server certificate it signed. */
  otherCa: string;
  otherClientCert: string;
  otherClientKey: string;
  otherServerCert: string;
  otherServerKey: string;
}

/**
 * Makes the PKI with openssl (P-256 keys: fast): the README's recipe, plus a second CA. Every
 * certificate is valid for one day.
 */
export function makePki(dir: string): Pki {
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const makeCa = (name: string) => {
    ssl(
      ...['req', '-x509', ...key, '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '1'],
      ...['-subj', `/CN=${name}`, '-addext', 'basicConstraints=critical,CA:TRUE'],
      ...['-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
    );
  };
  const makeCert = (name: string, ca: string, subject: string, ext: string) => {
    writeFileSync(join(dir, `${name}.ext`), ext);
    ssl('req', ...key, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject);
    ssl(
      ...['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`],
      ...['-set_serial', String(randomInt(1, 2 ** 47)), '-days', '1'],
      ...['-extfile', `${name}.ext`, '-out', `${name}.pem`],
    );
  };
  makeCa('ca');
  makeCa('other-ca');
  makeCert(
    'server',
    'ca',
    '/CN=mlsched',
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n',
  );
  makeCert('client', 'ca', '/CN=mlsched-client', 'extendedKeyUsage=clientAuth\n');
  makeCert('other-client', 'other-ca', '/CN=intruder', 'extendedKeyUsage=clientAuth\n');
  makeCert(
    'other-server',
    'other-ca',
    '/CN=mlsched-renewed',
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n',
  );
  const f = (name: string) => join(dir, name);
  return {
    dir,
    ca: f('ca.pem'),
    serverCert: f('server.pem'),
    serverKey: f('server.key'),
    clientCert: f('client.pem'),
    clientKey: f('client.key'),
    otherCa: f('other-ca.pem'),
    otherClientCert: f('other-client.pem'),
    otherClientKey: f('other-client.key'),
    otherServerCert: f('other-server.pem'),
    otherServerKey: f('other-server.key'),
  };
}

/** What an HTTPS request was answered. */
export interface HttpsAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * GET `url` over HTTPS trusting the CA file `ca`, with a client certificate when `cert` and `key`
 * name one, and `headers`; a redirect is returned, not followed.
 */
export function httpsGet(
  url: string,
  o: { ca: string; cert?: string; key?: string; headers?: Record<string, string> },
): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        ca: readFileSync(o.ca),
        ...(o.cert && o.key ? { cert: readFileSync(o.cert), key: readFileSync(o.key) } : {}),
        headers: o.headers ?? {},
        // A fresh connection each time: a rotated certificate is seen on the next request.
        agent: false,
        timeout: 5000,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
    req.end();
  });
}
