/**
 * What listens: the three gRPC ports, the HTTP port (health, metrics, the dashboard) and the
 * certificates they serve TLS with.
 */
import type { Config } from '../config/config.js';
import { ServerCertificates } from '../config/tls-reload.js';
import { httpRoutes, type HttpViews } from '../http/routes.js';
import { createHttpPort, type HttpPort } from '../http/server.js';
import type { Logger } from '../observability/logger.js';
import { bind, shutdown, type GrpcServers } from './grpc.js';

export interface Ports {
  scheduler: number;
  agent: number;
  dataflow: number;
  /** Null without an HTTP port (`--http-port off`). */
  http: number | null;
}

// Rotated certificates (and tokens) are served without a restart (read again every 10 s).
const reloadMs = (config: Config) => config.tlsReloadMs ?? 10_000;

/** The certificates of `--tls-cert`, read again as they rotate; none without TLS. */
export function watchCertificates(config: Config, log: Logger): ServerCertificates | undefined {
  const certificates =
    config.tls && new ServerCertificates(config.tls, log.child({ component: 'tls' }));
  certificates?.start(reloadMs(config));
  return certificates;
}

/** The ports, from listening to closed. */
export class Listeners {
  private http: HttpPort | undefined;

  constructor(
    private readonly grpc: GrpcServers,
    private readonly certificates: ServerCertificates | undefined,
  ) {}

  /**
   * Creates the HTTP port (none with `--http-port off`), then listens on the scheduler, agent,
   * dataflow and HTTP ports, in this order.
   * @throws Error when a port is taken or the token file cannot be used.
   */
  async listen(config: Config, log: Logger, views: HttpViews): Promise<Ports> {
    const certificates = this.certificates;
    this.http =
      config.httpPort === null
        ? undefined
        : createHttpPort(
            {
              host: config.httpHost ?? config.host,
              port: config.httpPort,
              certificates,
              tokenFile: config.httpTokenFile,
              reloadMs: reloadMs(config),
              allowedHosts: config.httpAllowedHosts ?? [],
              advertise: config.ha?.advertise,
              log: log.child({ component: 'http' }),
            },
            httpRoutes(views, log),
          );
    return {
      scheduler: await bind(this.grpc.scheduler, config.host, config.schedulerPort, certificates),
      agent: await bind(this.grpc.agent, config.host, config.agentPort, certificates),
      dataflow: await bind(this.grpc.dataflow, config.host, config.dataflowPort, certificates),
      http: this.http ? await this.http.listen() : null,
    };
  }

  /** Stops reading the certificates and closes every port, its calls given `graceMs` to end. */
  close(graceMs: number): Promise<unknown> {
    this.certificates?.stop();
    return Promise.all([
      shutdown(this.grpc.scheduler, graceMs),
      shutdown(this.grpc.agent, graceMs),
      shutdown(this.grpc.dataflow, graceMs),
      this.http?.close(),
    ]);
  }
}
