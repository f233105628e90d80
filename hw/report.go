package hw

import (
	"fmt"
	"io"
	"strings"
)

// WriteTable prints the report for a person: the machine, the GPUs, then every device,
// encoder and decoder with yes or no and, for no, why. Lines fit 100 columns.
func (r Report) WriteTable(w io.Writer) {
	fmt.Fprintf(w, "machine   %d CPUs, %.1f GiB memory; FFmpeg %s, go-astiav %s\n", r.CPUs, float64(r.MemoryBytes)/(1<<30),
		r.Build.FFmpeg, r.Build.GoAstiav)
	if len(r.GPUs) == 0 {
		fmt.Fprintf(w, "gpus      none (%s)\n", clip(r.NVML, 83))
	}
	for _, g := range r.GPUs {
		fmt.Fprintf(w, "gpu %-5d %s, %d MiB (%d used), util %.0f%%, enc %.0f%%, dec %.0f%%, %.0f W, %.0f °C\n",
			g.Index, clip(g.Name, 28), g.MemoryTotalMB, g.MemoryUsedMB, g.Utilization, g.EncoderUtilization,
			g.DecoderUtilization, g.PowerWatts, g.TemperatureC)
	}
	section := func(title string, cs []Check) {
		fmt.Fprintln(w, title)
		for _, c := range cs {
			ok := "yes"
			if !c.OK {
				ok = "no"
			}
			detail := c.Error
			if c.Sessions > 0 {
				detail = fmt.Sprintf("%d sessions at once", c.Sessions)
			}
			fmt.Fprintf(w, "  %-11s %-6s %-4s %s\n", c.Name, c.Device, ok, clip(detail, 74))
		}
	}
	section("devices", r.Devices)
	section("encoders", r.Encoders)
	section("decoders", r.Decoders)
}

// clip shortens s to n runes with an ellipsis.
func clip(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
