package results

// Names of the metrics a runtime cell reports. Readers match on these, so
// they are part of the schema: never rename one, add a new name instead.
const (
	MetricPrefill     = "prefill_tok_s"
	MetricDecode      = "decode_tok_s"
	MetricTTFT        = "ttft_ms"
	MetricTokenP50    = "decode_token_ms_p50"
	MetricTokenP90    = "decode_token_ms_p90"
	MetricTokenP99    = "decode_token_ms_p99"
	MetricLoad        = "load_s"
	MetricPeakRSS     = "peak_rss_bytes"
	MetricBandwidth   = "decode_gbps"
	MetricRooflinePct = "decode_roofline_pct"
	MetricModelBytes  = "model_bytes"
	MetricBitsPerWgt  = "bits_per_weight"
)
