package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/api/spec"
)

// TestConsoleStreamPreview is the console's live preview in Debian's chromium against a real
// `ffrtmp run` farm: a submitter creates a stream on the Streams page, the engine publishes
// a realtime synthetic source to it over RTMP with the key the page showed, the page shows
// it live without a reload, the preview button plays it with hls.js through the master
// (preview_url: the node's HLS on the API's origin, with the session cookie), and the
// <video>'s currentTime advances; stopping the preview, and leaving the page, let go of it.
func TestConsoleStreamPreview(t *testing.T) {
	chrome := consoleBrowser(t)
	axeJS, err := os.ReadFile(filepath.Join("testdata", "axe-core-4.14.1", "axe.min.js"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	keys, subKey := consoleKeys(t, dir)
	port, rtmpPort := freePort(t), freePort(t)
	startRun(t, dir, "--port", port, "--rtmp-port", rtmpPort, "--keys-file", keys, "--live-grace", "2s")
	base := "http://127.0.0.1:" + port
	admin := farmClient(t, filepath.Join(dir, dataDirName), port)
	// One small rung keeps the test's CPU low on a shared machine.
	rs, err := spec.RungsNamed("240p")
	if err != nil {
		t.Fatal(err)
	}
	const preset = "console-live-240p"
	if _, err := admin.PutPreset(context.Background(), api.Preset{Name: preset, Container: "hls", Renditions: rs,
		Video: &spec.Video{Codec: "libx264", Preset: "ultrafast", GOP: 2}, Audio: &spec.Audio{Codec: "aac"}}); err != nil {
		t.Fatal(err)
	}

	p := startConsoleBrowser(t, chrome, base, 4*time.Minute)
	p.axe = string(axeJS)
	p.run("open the console", chromedp.EmulateViewport(1280, 720), chromedp.Navigate(base+"/"))
	p.waitJS(20*time.Second, "the login form", `document.querySelector('#login-form input[type=password]')`)
	var h264 bool
	p.eval(`typeof MediaSource !== 'undefined' && MediaSource.isTypeSupported('video/mp4; codecs="avc1.64001f"')`, &h264)
	if !h264 {
		t.Fatal(`this chromium cannot play H.264 through Media Source Extensions (MediaSource.isTypeSupported('video/mp4; codecs="avc1.64001f"') is false): ` +
			"the preview test needs a build with the proprietary codecs, as Debian's chromium package is")
	}
	p.login(subKey)

	// Create the stream on the page; the key it shows once is what the publisher sends.
	p.open("#/streams")
	p.run("create a stream", chromedp.SetValue(chromedp.CSS(`#stream-form [name=name]`), "preview-cam"),
		chromedp.SetValue(chromedp.CSS(`#stream-form [name=preset]`), preset),
		chromedp.Click(chromedp.CSS(`#stream-form button[type=submit]`)))
	p.waitJS(10*time.Second, "the stream key", `document.querySelector('#stream-key') && document.querySelector('#stream-key').value.length > 16`)
	var created struct {
		ID  string `json:"id"`
		Key string `json:"key"`
	}
	p.eval(`({id: document.querySelector('[data-stream]').dataset.stream, key: document.querySelector('#stream-key').value})`, &created)
	p.waitJS(5*time.Second, "the idle stream's note", fmt.Sprintf(`document.querySelector('[data-stream=%q]').textContent.includes('The preview plays while the stream is live')`, created.ID))
	p.eval(`(window.__noReload = 1, true)`, new(bool))

	// Publish: long enough for the preview to play a few seconds; the test's cleanup stops it.
	pub := startLivePublisher(t, "rtmp://127.0.0.1:"+rtmpPort+"/live/"+created.Key, 320, 240, 60)
	start := fmt.Sprintf(`document.querySelector('[data-preview-start=%q]')`, created.ID)
	p.waitJS(60*time.Second, "the stream live on the page, with its preview button",
		fmt.Sprintf(`document.querySelector('[data-stream=%q] h2 .badge').textContent === 'live' && %s`, created.ID, start))
	if pub.ended() {
		t.Fatalf("the publisher ended early: %v", pub.err)
	}
	// The live job's outputs show their pipeline latency, as the worker measured it.
	p.waitJS(30*time.Second, "the live outputs' pipeline latency", fmt.Sprintf(
		`[...document.querySelectorAll('[data-stream=%q] td[data-latency-ms]')].some((td) => Number(td.dataset.latencyMs) > 0 && td.textContent.endsWith(' ms'))`, created.ID))
	st, err := admin.GetStream(context.Background(), created.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := "/v1/streams/" + created.ID + "/hls/master.m3u8"; st.PreviewURL != want {
		t.Fatalf("the live stream's preview_url %q, want %s", st.PreviewURL, want)
	}
	var label string
	p.eval(start+`.textContent`, &label)
	if label != "Play preview of preview-cam" {
		t.Errorf("the preview button reads %q, want it to name the stream", label)
	}

	// Start it from the keyboard: focus the button, press Enter.
	p.eval(start+`.focus(), document.activeElement === `+start, new(bool))
	p.run("start the preview", chromedp.KeyEvent("\r"))
	video := fmt.Sprintf(`document.querySelector('video[data-preview=%q]')`, created.ID)
	p.waitJS(10*time.Second, "the preview's <video>", video)
	var attrs struct {
		Muted, Controls, Inline bool
		Label                   string
	}
	p.eval(fmt.Sprintf(`(() => { const v = %s; return {Muted: v.muted, Controls: v.controls, Inline: v.hasAttribute('playsinline'), Label: v.getAttribute('aria-label')}; })()`, video), &attrs)
	if !attrs.Muted || !attrs.Controls || !attrs.Inline || attrs.Label == "" {
		t.Errorf("the preview's <video>: %+v, want muted, controls, playsinline and a label", attrs)
	}
	// It plays: currentTime moves on, by more than a second of live video.
	var first float64
	deadline := time.Now().Add(90 * time.Second)
	for {
		var now struct {
			Time  float64 `json:"time"`
			Error string  `json:"error"`
		}
		p.eval(fmt.Sprintf(`(() => { const v = %s; const e = document.querySelector('[data-stream=%q] .error');
			return {time: v ? v.currentTime : -1, error: e ? e.textContent : ''}; })()`, video, created.ID), &now)
		if now.Error != "" {
			t.Fatalf("the preview failed on the page: %s", now.Error)
		}
		if first == 0 && now.Time > 0 {
			first = now.Time
		}
		if first > 0 && now.Time >= first+1.5 {
			t.Logf("the preview played from %.2f s to %.2f s", first, now.Time)
			break
		}
		if time.Now().After(deadline) || pub.ended() {
			var state string
			p.eval(fmt.Sprintf(`(() => { const v = %s; const b = [];
				for (let i = 0; i < v.buffered.length; i++) b.push(v.buffered.start(i).toFixed(2) + '-' + v.buffered.end(i).toFixed(2));
				return JSON.stringify({readyState: v.readyState, networkState: v.networkState, paused: v.paused, error: v.error && v.error.message, buffered: b,
					fetched: performance.getEntriesByType('resource').filter(e => e.name.includes('/hls/')).slice(-8).map(e => e.name.split('/hls/')[1] + ' ' + e.responseStatus)}); })()`, video), &state)
			t.Fatalf("the preview's currentTime went from %.2f to %.2f (publisher ended: %t), want it to advance 1.5 s; the video: %s", first, now.Time, pub.ended(), state)
		}
		time.Sleep(200 * time.Millisecond)
	}
	p.check("stream-preview")
	var elsewhere []string
	p.eval(fmt.Sprintf(`performance.getEntriesByType('resource').map(e => e.name).filter(n => (n.includes('.m3u8') || n.includes('.ts')) && !n.startsWith(%q))`,
		base+"/v1/streams/"+created.ID+"/hls/"), &elsewhere)
	if len(elsewhere) > 0 {
		t.Errorf("the preview fetched HLS from elsewhere than the master's preview path: %v", elsewhere)
	}

	// Stop: the video goes, the start button comes back with the focus.
	p.run("stop the preview", chromedp.Click(chromedp.CSS(fmt.Sprintf(`[data-preview-stop=%q]`, created.ID))))
	p.waitJS(5*time.Second, "the preview stopped", fmt.Sprintf(`!%s && document.activeElement === %s`, video, start))
	// Leaving the page while it plays ends it (hls.js destroyed: the video's gone with it).
	p.run("restart the preview", chromedp.Click(chromedp.CSS(fmt.Sprintf(`[data-preview-start=%q]`, created.ID))))
	p.waitJS(30*time.Second, "the preview playing again", video+` && `+video+`.currentTime > 0`)
	// hls.js reloads the live playlist every segment (2 s): while it plays the page fetches
	// HLS, and once it is destroyed none.
	const fetched = `performance.getEntriesByType('resource').filter(e => e.name.includes('/hls/')).length`
	hlsFetches := func() int {
		t.Helper()
		p.eval(`(performance.clearResourceTimings(), true)`, new(bool))
		time.Sleep(5 * time.Second)
		var n int
		p.eval(fetched, &n)
		return n
	}
	playing := hlsFetches()
	p.open("#/jobs")
	time.Sleep(500 * time.Millisecond)
	left := hlsFetches()
	if playing == 0 || left != 0 {
		t.Errorf("HLS fetches in 5 s: %d while the preview played, %d after leaving the page; want some, then none", playing, left)
	}
	var same bool
	p.eval(`window.__noReload === 1`, &same)
	if !same {
		t.Error("the page reloaded while the stream went live and played")
	}
}
