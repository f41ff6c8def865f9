/**
 * Production wiring, done once per process: configuration from app settings, the credential,
 * telemetry (Application Insights when a connection string is set), the chat service with its shared
 * region health. Function files take what they need from here.
 */
import { ChatService } from './chat-service';
import { loadConfig, type AppConfig } from './config';
import { createCredentials, type CredentialSet } from './credentials';
import { consoleLogger } from './logger';
import { createTelemetry, telemetrySettings, type Telemetry } from './telemetry';

export interface Services {
  readonly config: AppConfig;
  readonly chat: ChatService;
  /** The one credential set of the process (also used by the deep health checks). */
  readonly credentials: CredentialSet;
  /** Application Insights, or off; `ready()` resolves once the SDK has started. */
  readonly telemetry: Telemetry;
}

let services: Services | undefined;

/** Builds the services on first use; throws ConfigError (naming the setting) when configuration is bad. */
export function productionServices(): Services {
  if (services === undefined) {
    const config = loadConfig(process.env);
    const logger = consoleLogger();
    const telemetry = createTelemetry(telemetrySettings(process.env), { logger });
    const credentials = createCredentials(config);
    const chat = new ChatService({ config, credentials, logger, observer: telemetry });
    services = Object.freeze({ config, chat, credentials, telemetry });
  }
  return services;
}
