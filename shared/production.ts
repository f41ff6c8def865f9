/**
 * Production wiring, done once per process: configuration from app settings, the credential,
 * telemetry (Application Insights when a connection string is set), the chat service with its shared
 * region health. Function files take what they need from here.
 */
import { ChatService } from './chat-service';
import { loadConfig, type AppConfig } from './config';
import { createCredentials, type CredentialSet } from './credentials';
import { chatAccess } from './auth/access';
import { createCallerGate, type CallerGate } from './auth/gate';
import { createTokenValidator } from './auth/token-validator';
import { conversationSettings, createConversationService, type ConversationService } from './conversations';
import { consoleLogger, type Logger } from './logger';
import { createQuotaService, quotaSettings, type QuotaService } from './quota';
import { CallerInFlight, callerLimitSettings } from './resilience/caller-limit';
import { LoadShedder, overloadSettings } from './resilience/load-shedder';
import { healthCheckSettings } from './stamp-health';
import { createTelemetry, telemetrySettings, type Telemetry } from './telemetry';

export interface Services {
  readonly config: AppConfig;
  readonly chat: ChatService;
  /** The one credential set of the process (also used by the deep health checks). */
  readonly credentials: CredentialSet;
  /** Application Insights, or off; `ready()` resolves once the SDK has started. */
  readonly telemetry: Telemetry;
  /** Who may call the chat endpoints (signed-in users, service keys): asked before every chat. */
  readonly gate: CallerGate;
  /** Per-caller limits, counted in Table Storage shared by every instance; its state shows in health. */
  readonly quota: QuotaService;
  /** Per-caller conversations in Table Storage (stateless chats when no store is configured). */
  readonly conversations: ConversationService;
  /** Turns requests away while this instance's event loop lags (CHAT_SHED_LAG_MS); its state shows in health. */
  readonly overload: LoadShedder;
  /** Requests in flight per user or app on this instance, at most CHAT_CALLER_MAX_IN_FLIGHT each. */
  readonly callers: CallerInFlight;
}

let services: Services | undefined;

/** Builds the services on first use; throws ConfigError (naming the setting) when configuration is bad. */
export function productionServices(): Services {
  if (services === undefined) {
    const config = loadConfig(process.env);
    const logger = consoleLogger();
    const telemetry = createTelemetry(telemetrySettings(process.env), { logger });
    const credentials = createCredentials(config);
    const quota = quotaService(logger);
    const conversations = createConversationService({ settings: conversationSettings(process.env), logger });
    const chat = new ChatService({
      config,
      credentials,
      logger,
      observer: telemetry,
      quota,
      history: conversations,
      healthCheck: healthCheckSettings(process.env),
    });
    const gate = callerGate(logger);
    const overload = new LoadShedder({ settings: overloadSettings(process.env), observer: telemetry, logger });
    const callers = new CallerInFlight(callerLimitSettings(process.env));
    services = Object.freeze({ config, chat, credentials, telemetry, gate, quota, conversations, overload, callers });
  }
  return services;
}

/** The caller gate from the CHAT_AUTH_* settings, with one token validator when users sign in. */
function callerGate(logger: Logger): CallerGate {
  const access = chatAccess(process.env);
  for (const warning of access.settings.warnings) logger.warn(warning);
  const token = access.settings.callers.includes('users') ? access.settings.token : undefined;
  return createCallerGate({ access, ...(token ? { validator: createTokenValidator({ token }) } : {}) });
}

/** The quota service from the CHAT_USER_* and CHAT_STORAGE_* settings (the store's SDK loads on first use). */
function quotaService(logger: Logger): QuotaService {
  return createQuotaService({ settings: quotaSettings(process.env), logger });
}
