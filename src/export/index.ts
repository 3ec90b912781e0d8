// Public API of the export layer: the session's records served to Prometheus (docs/prometheus.md).
export { PrometheusExporter, negotiate } from './server.js';
export { ExporterListenError, parseListenAddress, type ListenAddress } from './address.js';
export { ExportState, type SampledFigures, type Log2Histogram } from './state.js';
export { FAMILIES, CONTENT_TYPES, OPEN_BUCKET, bucketBoundSecs, type Format } from './metrics.js';
