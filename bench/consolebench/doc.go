// Package consolebench measures the console (the master's web UI) as a browser sees it on
// a busy farm: a master holding a million jobs, a thousand of them running on simulated
// nodes that report progress every second; Debian's chromium, driven through the DevTools
// protocol, opens the jobs page and the Performance API times its first render and the
// work each live update costs the page.
package consolebench
