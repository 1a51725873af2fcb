export { runWithLogContext, currentLogContext, currentRequestId, type LogContext } from './context.ts';
export { parseRequestId, requestIdFor, requestIdHeader } from './request-id.ts';
export { routeGroups, routeGroupOf, type RouteGroup } from './route-group.ts';
export { createMetrics, loginFailureReasons, type Metrics, type MetricsSources, type OutboxDepth, type ServedReleaseInfo, type DeploySummary, type LoginFailureReason } from './metrics.ts';
export { metricsAllowed, isPrivateAddress, type MetricsAccessSettings, type MetricsRequest } from './metrics-access.ts';
export { checkReadiness, publicReadiness, type ReadinessReport, type PublicReadinessReport, type CheckName, type ReadinessProbes, type CheckResult, type ServedReleaseCheck } from './readiness.ts';
export { createRequestObserver, type RequestObserver, type RequestLogger } from './request-observer.ts';
export { createOperationsHandler, type OperationsLogger } from './operations-handler.ts';
