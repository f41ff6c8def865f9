// Public surface of the Azure OpenAI simulator.
export { DEFAULT_API_KEY, DEFAULT_DEPLOYMENTS, startSimulator } from './server';
export { FALLBACK_PRINCIPAL_ID, fakeEntraToken } from './auth';
export { DEFAULT_FAULT_LATENCY_MS, DEFAULT_THROTTLE_RETRY_AFTER_MS, parseFault } from './faults';
export { regionDisplayName } from './regions';
export { countPromptTokens, countTokens } from './tokens';
export { LATENCY_PRESETS } from './types';
export type {
  BearerMode,
  Fault,
  FaultKind,
  LatencyModel,
  LatencyPreset,
  RecentRequest,
  RunningSimulator,
  SimulatorOptions,
  SimulatorStats,
} from './types';
