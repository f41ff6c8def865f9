/**
 * Production wiring, done once per process: configuration from app settings, the credential, the
 * chat service with its shared region health. Function files take what they need from here.
 */
import { ChatService } from './chat-service';
import { loadConfig, type AppConfig } from './config';
import { createCredentials } from './credentials';
import { consoleLogger } from './logger';

export interface Services {
  readonly config: AppConfig;
  readonly chat: ChatService;
}

let services: Services | undefined;

/** Builds the services on first use; throws ConfigError (naming the setting) when configuration is bad. */
export function productionServices(): Services {
  if (services === undefined) {
    const config = loadConfig(process.env);
    const chat = new ChatService({ config, credentials: createCredentials(config), logger: consoleLogger() });
    services = Object.freeze({ config, chat });
  }
  return services;
}
