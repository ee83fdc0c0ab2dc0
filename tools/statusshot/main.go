// Command statusshot takes the screenshot of the live status page shown in
// the README (docs/status.png): it builds and starts the real server with
// --enable-status, sends it a varying load for a little while so that the
// charts have a shape, and captures the page in headless Chromium. Run by
// `make screenshots`, never by the tests.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/chromedp"
)

func main() {
	out := flag.String("out", "docs/status.png", "where to write the PNG")
	load := flag.Duration("load", 40*time.Second, "how long to send traffic before the capture")
	chromium := flag.String("chromium", "/usr/bin/chromium", "Chromium binary")
	flag.Parse()
	if err := run(*out, *load, *chromium); err != nil {
		fmt.Fprintln(os.Stderr, "statusshot:", err)
		os.Exit(1)
	}
}

var listenRE = regexp.MustCompile(`listening on ([^\s"]+)`)

func run(out string, load time.Duration, chromium string) error {
	dir, err := os.MkdirTemp("", "statusshot-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "simple_comet")
	if b, err := exec.Command("go", "build", "-o", bin, "./cmd/simple_comet").CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, b)
	}
	srv := exec.Command(bin, "--http-port=0", "--bind=127.0.0.1", "--enable-status", "--http-timeout=5", "--node-id=node-1")
	stderr, err := srv.StderrPipe()
	if err != nil {
		return err
	}
	if err := srv.Start(); err != nil {
		return err
	}
	defer func() { srv.Process.Kill(); srv.Wait() }()
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := listenRE.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
	}()
	var base string
	select {
	case a := <-addr:
		base = "http://" + a
	case <-time.After(30 * time.Second):
		return fmt.Errorf("the server did not listen within 30s")
	}

	ctx, cancel := context.WithTimeout(context.Background(), load+30*time.Second)
	defer cancel()
	// Capture while the load still runs, so that "now" shows traffic.
	done := make(chan struct{})
	go func() { defer close(done); traffic(ctx, base, load+10*time.Second) }()
	time.Sleep(load)
	err = capture(base, out, chromium)
	cancel()
	<-done
	return err
}

// traffic registers channels and clients, keeps subscribers polling, and
// publishes at a rate that rises and falls, for d.
func traffic(ctx context.Context, base string, d time.Duration) {
	post := func(path string, v url.Values) {
		if resp, err := http.PostForm(base+path, v); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	chans := []string{"news", "sports", "weather", "chat-1", "chat-2", "chat-3", "prices", "alerts", "scores", "lobby", "ops", "builds"}
	for _, c := range chans {
		post("/channels.json", url.Values{"channel_id": {c}})
	}
	for i := range 37 {
		post("/clients.json", url.Values{"client_id": {fmt.Sprintf("user-%d", i)}})
	}
	sub, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for i := range 24 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			since := "0"
			for sub.Err() == nil {
				req, _ := http.NewRequestWithContext(sub, "GET", base+"/channels/"+url.PathEscape(chans[i%4]+"|"+chans[4+i%8])+".json?since="+since, nil)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if m := regexp.MustCompile(`"last_id":(\d+)`).FindSubmatch(b); m != nil {
					since = string(m[1])
				}
			}
		}()
	}
	start := time.Now()
	for time.Since(start) < d && ctx.Err() == nil {
		x := time.Since(start).Seconds()
		rate := 6 + 5*math.Sin(x/6) + 3*math.Sin(x/2.3)
		for i := 0; i < int(rate); i++ {
			post("/channels/"+chans[i%len(chans)]+".json", url.Values{"content": {strings.Repeat("x", 20)}})
		}
		time.Sleep(time.Second / 2)
	}
	stop()
	wg.Wait()
}

func capture(base, out, chromium string) error {
	prof, err := os.MkdirTemp("", "statusshot-profile-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(prof)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.NoFirstRun,
		chromedp.UserDataDir(prof), chromedp.WindowSize(1200, 760))
	defer cancelA()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/status.html")); err != nil {
		return err
	}
	time.Sleep(3 * time.Second) // the retained history arrives, charts are drawn
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	return os.WriteFile(out, png, 0o644)
}
