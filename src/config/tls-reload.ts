/**
 * Rotating the scheduler's certificates without a restart (cert-manager renews them in place on
 * Kubernetes): the files of `--tls-cert`, `--tls-key` and `--tls-ca` are read again periodically,
 * with the start-up checks. A change that passes them serves every new connection on every gRPC
 * port; one that does not (a key that does not match a new certificate yet, halfway through a
 * rotation) is logged and the files in use stay. Connections already open keep their handshake.
 *
 * It is a certificate provider of @grpc/grpc-js (`experimental.CertificateProvider`, which it
 * matches structurally), for `createCertificateProviderServerCredentials`; the HTTPS port follows
 * it through {@link ServerCertificates.onReload}.
 */
import { X509Certificate } from 'node:crypto';
import { Reloading, type ReloadLog } from './reloading.js';
import { parseServerTls, type ServerTls } from './tls.js';

type IdentityListener = (update: { certificate: Buffer; privateKey: Buffer } | null) => void;
type CaListener = (update: { caCertificate: Buffer } | null) => void;

const same = (a: Buffer | undefined, b: Buffer | undefined) =>
  a === undefined || b === undefined ? a === b : a.equals(b);

export class ServerCertificates {
  private readonly identityListeners = new Set<IdentityListener>();
  private readonly caListeners = new Set<CaListener>();
  private readonly reloadListeners = new Set<(tls: ServerTls) => void>();
  private readonly files: Reloading<ServerTls>;

  constructor(initial: ServerTls, log: ReloadLog) {
    this.files = new Reloading(initial, {
      read: () => parseServerTls(this.tls.files) ?? this.tls,
      same: (a, b) => same(a.cert, b.cert) && same(a.key, b.key) && same(a.clientCa, b.clientCa),
      changed: (next, previous) => {
        const identity = !same(next.cert, previous.cert) || !same(next.key, previous.key);
        const ca = !same(next.clientCa, previous.clientCa);
        if (identity) for (const l of this.identityListeners) l(this.identity());
        if (ca) for (const l of this.caListeners) l(this.ca());
        for (const l of this.reloadListeners) l(next);
        const first = new X509Certificate(next.cert);
        log.info(
          { subject: first.subject, validTo: first.validTo, clientCa: ca },
          'TLS certificate reloaded',
        );
      },
      log,
      failed: 'TLS files changed but cannot be used; still serving the previous ones',
    });
  }

  /** Whether clients must present a certificate (`--tls-ca`: mutual TLS). */
  get mutual(): boolean {
    return this.tls.clientCa !== undefined;
  }

  /** The files served now. */
  get tls(): ServerTls {
    return this.files.value;
  }

  /** Calls `listener` with the new files after every reload that changed them. */
  onReload(listener: (tls: ServerTls) => void): void {
    this.reloadListeners.add(listener);
  }

  /** Reads the files again every `everyMs` (with the start-up checks) until {@link stop}. */
  start(everyMs: number): void {
    this.files.start(everyMs);
  }

  stop(): void {
    this.files.stop();
  }

  // grpc-js calls these when a port starts (and stops) using the provider. A listener hears the
  // current files after the call returns: grpc-js registers its own watcher only afterwards.
  addIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.add(listener);
    queueMicrotask(() => {
      if (this.identityListeners.has(listener)) listener(this.identity());
    });
  }
  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.delete(listener);
  }
  addCaCertificateListener(listener: CaListener): void {
    this.caListeners.add(listener);
    queueMicrotask(() => {
      if (this.caListeners.has(listener)) listener(this.ca());
    });
  }
  removeCaCertificateListener(listener: CaListener): void {
    this.caListeners.delete(listener);
  }

  private identity() {
    return { certificate: this.tls.cert, privateKey: this.tls.key };
  }
  private ca() {
    return this.tls.clientCa ? { caCertificate: this.tls.clientCa } : null;
  }
}
