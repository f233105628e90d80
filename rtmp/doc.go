// Package rtmp contains ffrtmp's RTMP ingest and relay server.
//
// The model is publish with a key, relay under an ID, play with a token:
//
//   - A broadcaster publishes to rtmp://host:1935/live/<stream key>. The server asks its
//     Authorizer (the master, which stores keys hashed) whether the key is valid; the answer is
//     the stream's ID, and from then on the stream is known only by that ID. The key is never
//     logged, exposed in metrics or used as a name.
//   - A worker plays rtmp://host:1935/live/<stream ID>?token=<token>. The Authorizer checks
//     the token; the player then gets the publisher's tracks unchanged (no transcoding here),
//     starting at a keyframe: from the cached current GOP when there is one, else from the
//     next keyframe.
//   - Each player has a bounded queue. The publisher never waits for a player: a player that
//     falls more than the queue behind, or whose socket stays blocked for the write timeout,
//     is disconnected and counted. When the publisher leaves, every player gets what is already
//     queued and is then closed, so its demuxer sees the end of the stream.
//   - With Config.Grace, a stream whose publisher left keeps its players for the grace: a
//     publisher of the same stream who comes back within it with the same tracks continues
//     their session (from its first keyframe, timestamps following the last relayed ones), so
//     a player sees only a stall. Past the grace, or with other tracks, the players end.
//
// One publisher per stream ID: a second publisher on a live stream is refused. RTMPS is
// served when Config.TLS is set. The package links no C.
package rtmp
