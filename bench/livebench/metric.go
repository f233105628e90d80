package livebench

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"sort"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// latencyMetric is the worker's ffrtmp_live_latency_seconds: the pipeline latency it
// reports per rendition, set beside the glass-to-glass latency the benchmark measures.
const latencyMetric = "ffrtmp_live_latency_seconds"

// scrapeLatency reads the worker's /metrics at url every second until ctx ends and returns
// the last histogram of latencyMetric seen per output (the series go away when the job ends).
func scrapeLatency(ctx context.Context, url string) map[string]*dto.Histogram {
	last := map[string]*dto.Histogram{}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return last
		case <-t.C:
		}
		hs, err := readLatency(ctx, url)
		if err != nil {
			continue
		}
		for out, h := range hs {
			last[out] = h
		}
	}
}

func readLatency(ctx context.Context, url string) (map[string]*dto.Histogram, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", url, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, err
	}
	out := map[string]*dto.Histogram{}
	if f := fams[latencyMetric]; f != nil {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "output" {
					out[l.GetValue()] = m.GetHistogram()
				}
			}
		}
	}
	return out, nil
}

// histogramQuantile is q (0..1) of h, interpolated linearly inside the bucket it falls in,
// as Prometheus's histogram_quantile does; NaN for an empty histogram.
func histogramQuantile(h *dto.Histogram, q float64) float64 {
	if h == nil || h.GetSampleCount() == 0 {
		return math.NaN()
	}
	bs := h.GetBucket()
	sort.Slice(bs, func(i, j int) bool { return bs[i].GetUpperBound() < bs[j].GetUpperBound() })
	rank := q * float64(h.GetSampleCount())
	var prevBound float64
	var prevCount uint64
	for _, b := range bs {
		if float64(b.GetCumulativeCount()) >= rank {
			in := float64(b.GetCumulativeCount() - prevCount)
			if in == 0 {
				return b.GetUpperBound()
			}
			return prevBound + (b.GetUpperBound()-prevBound)*(rank-float64(prevCount))/in
		}
		prevBound, prevCount = b.GetUpperBound(), b.GetCumulativeCount()
	}
	return prevBound // in the +Inf bucket: the highest finite bound is all that is known
}
