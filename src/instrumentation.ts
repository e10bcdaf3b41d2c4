// Preloaded with `node --require` before the application: OpenTelemetry must
// patch libraries before they are first required. The tracing module fills
// this in; with ENABLE_TELEMETRY unset it does nothing.
export {};
