package results

// Names of the metrics a runtime cell reports. Readers match on these, so
// they are part of the schema: never rename one, add a new name instead.
const (
	MetricPrefill  = "prefill_tok_s"
	MetricDecode   = "decode_tok_s"
	MetricTTFT     = "ttft_ms"
	MetricTokenP50 = "decode_token_ms_p50"
	MetricTokenP90 = "decode_token_ms_p90"
	MetricTokenP99 = "decode_token_ms_p99"
	MetricLoad     = "load_s"
	MetricPeakRSS  = "peak_rss_bytes"
	// Share of the memory the weights are read from (the file mapping, or
	// the --no-mmap copy) that is mapped with huge pages, after the
	// measurements: decode streams it, and on 4 KiB pages reads slower.
	MetricWeightsHugePct = "weights_huge_page_pct"
	MetricBandwidth      = "decode_gbps"
	MetricRooflinePct    = "decode_roofline_pct"
	// Read bandwidth sampled with the roofline's loop just before the cell
	// loads and just after its measurements, and the decode bandwidth's
	// share of it: a denominator of the cell's own minutes, where the
	// roofline's may be hours old on a machine whose bandwidth drifts.
	MetricPairedRead        = "paired_read_gbps"
	MetricPairedRooflinePct = "decode_paired_roofline_pct"
	MetricModelBytes        = "model_bytes"
	MetricBitsPerWgt        = "bits_per_weight"

	// Prefill against the compute roofline: 2 × parameters FLOPs per prompt
	// token × prefill tok/s, and that over the measured FP32 FMA peak.
	MetricPrefillGFLOPs     = "prefill_gflops"
	MetricPrefillComputePct = "prefill_compute_pct"

	// Quality against the cell's dense reference (the same model and seed
	// in f32, or f16 where f32 will not fit), over a seeded token stream:
	// mean and 99th-percentile KL divergence of the next-token
	// distributions (nats, lower is better) and the share of positions whose
	// top token agrees (%, higher is better).
	MetricKLDMean = "kld_mean"
	MetricKLDP99  = "kld_p99"
	MetricSameTop = "same_top_pct"

	// A soak's decode speed over its last minute divided by that over its
	// first (its first and last quarters when shorter than 4 minutes):
	// below 1 the device slowed down as it kept running.
	MetricSustainedRatio = "decode_sustained_ratio"

	// From the probes; unavailable (with the reason) where the device has no sensor.
	MetricPrefillJPerTok = "prefill_j_per_tok"
	MetricDecodeJPerTok  = "decode_j_per_tok"
	MetricDecodePower    = "decode_avg_power_w"
	MetricMaxTemp        = "max_temp_c"
	MetricAvgFreq        = "decode_avg_freq_mhz"
	MetricThrottle       = "throttle_events"
)
