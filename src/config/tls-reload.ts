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
import { parseServerTls, type ServerTls } from './tls.js';

export interface TlsReloadLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

type IdentityListener = (update: { certificate: Buffer; privateKey: Buffer } | null) => void;
type CaListener = (update: { caCertificate: Buffer } | null) => void;

export class ServerCertificates {
  private readonly identityListeners = new Set<IdentityListener>();
  private readonly caListeners = new Set<CaListener>();
  private readonly reloadListeners = new Set<(tls: ServerTls) => void>();
  private timer: NodeJS.Timeout | undefined;
  /** The last failed reload's message, logged once until something changes. */
  private failure: string | undefined;

  constructor(
    private current: ServerTls,
    private readonly log: TlsReloadLog,
  ) {}

  /** Whether clients must present a certificate (`--tls-ca`: mutual TLS). */
  get mutual(): boolean {
    return this.current.clientCa !== undefined;
  }

  /** The files served now. */
  get tls(): ServerTls {
    return this.current;
  }

  /** Calls `listener` with the new files after every reload that changed them. */
  onReload(listener: (tls: ServerTls) => void): void {
    this.reloadListeners.add(listener);
  }

  /** Reads the files again every `everyMs` until {@link stop}. */
  start(everyMs: number): void {
    this.timer = setInterval(() => {
      this.reload();
    }, everyMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Reads the files now; serves them if they changed and pass the checks. */
  private reload(): void {
    let next: ServerTls;
    try {
      next = parseServerTls(this.current.files) ?? this.current;
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      if (message !== this.failure) {
        this.failure = message;
        this.log.warn(
          { err: message },
          'TLS files changed but cannot be used; still serving the previous ones',
        );
      }
      return;
    }
    this.failure = undefined;
    const same = (a: Buffer | undefined, b: Buffer | undefined) =>
      a === undefined || b === undefined ? a === b : a.equals(b);
    const identity = !same(next.cert, this.current.cert) || !same(next.key, this.current.key);
    const ca = !same(next.clientCa, this.current.clientCa);
    if (!identity && !ca) return;
    this.current = next;
    if (identity) for (const l of this.identityListeners) l(this.identity());
    if (ca) for (const l of this.caListeners) l(this.ca());
    for (const l of this.reloadListeners) l(next);
    const first = new X509Certificate(next.cert);
    this.log.info(
      { subject: first.subject, validTo: first.validTo, clientCa: ca },
      'TLS certificate reloaded',
    );
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
    return { certificate: this.current.cert, privateKey: this.current.key };
  }
  private ca() {
    return this.current.clientCa ? { caCertificate: this.current.clientCa } : null;
  }
}
