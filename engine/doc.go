// Package engine transcodes one input into N outputs in-process through FFmpeg's libraries
// (libavformat, libavcodec, libavfilter via go-astiav).
//
// A run decodes its input once and feeds every output its own filter chain and encoder;
// demuxing, decoding, each output's filter+encode and each muxer run in their own goroutine,
// joined by bounded queues, and decoded frames are shared between outputs by reference. The
// Observer receives per-frame stage timings and a progress snapshot every 500 ms.
//
// Everything the engine allocates in libav is released exactly once per run, so a process can
// run thousands of transcodes without growing.
package engine
