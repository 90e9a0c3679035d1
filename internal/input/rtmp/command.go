package rtmp

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/bluenviron/gortmplib/pkg/amf0"
	"github.com/bluenviron/gortmplib/pkg/message"
)

// request is what a client asked for during the RTMP command exchange:
// the application it connected to and the stream it wants to publish (or
// play, which Sluice refuses).
type request struct {
	App     string
	TCURL   string
	Name    string // the publish or play argument: the stream key
	Publish bool
	cmd     *message.CommandAMF0 // the publish or play command, to answer it
}

// Limits of the command exchange before publishing: a client that keeps
// talking without asking to publish is not a publisher.
const (
	maxMessagesBeforePublish = 64
	// streamID is the one message stream a connection may create.
	streamID = 1
	// statusStreamID is streamID as the message writer expects it (the
	// chunk header stores message stream ids little-endian).
	statusStreamID   = 0x1000000
	statusChunkID    = 5
	serverChunkSize  = 65536
	serverWindowSize = 2500000
)

// commandConn is the part of a message reader/writer the exchange needs.
type commandConn interface {
	Read() (message.Message, error)
	Write(msg message.Message) error
}

// negotiate answers connect and createStream and returns at the publish (or
// play) command, before anything is accepted: the caller decides whether
// this publisher may go on, and answers with accept or refuse.
func negotiate(c commandConn) (*request, error) {
	connect, err := readCommand(c, 8)
	if err != nil {
		return nil, err
	}
	if connect.Name != "connect" {
		return nil, fmt.Errorf("the first command is %q, not connect", truncate(connect.Name))
	}
	req := &request{}
	if len(connect.Arguments) > 0 {
		if obj, ok := objectOf(connect.Arguments[0]); ok {
			req.App, _ = obj.GetString("app")
			req.TCURL, _ = obj.GetString("tcUrl")
			if req.TCURL == "" {
				req.TCURL, _ = obj.GetString("tcurl")
			}
			req.TCURL = strings.Trim(req.TCURL, "'")
		}
	}
	for _, m := range []message.Message{
		&message.SetWindowAckSize{Value: serverWindowSize},
		&message.SetPeerBandwidth{Value: serverWindowSize, Type: 2},
		&message.SetChunkSize{Value: serverChunkSize},
		&message.CommandAMF0{
			ChunkStreamID: connect.ChunkStreamID,
			Name:          "_result",
			CommandID:     connect.CommandID,
			Arguments: []any{
				amf0.Object{
					{Key: "fmsVer", Value: "FMS/3,0,1,123"},
					{Key: "capabilities", Value: float64(31)},
				},
				amf0.Object{
					{Key: "level", Value: "status"},
					{Key: "code", Value: "NetConnection.Connect.Success"},
					{Key: "description", Value: "Connection succeeded."},
					{Key: "objectEncoding", Value: float64(0)},
				},
			},
		},
	} {
		if err := c.Write(m); err != nil {
			return nil, err
		}
	}
	for range maxMessagesBeforePublish {
		cmd, err := readCommand(c, maxMessagesBeforePublish)
		if err != nil {
			return nil, err
		}
		switch cmd.Name {
		case "createStream":
			err := c.Write(&message.CommandAMF0{
				ChunkStreamID: cmd.ChunkStreamID,
				Name:          "_result",
				CommandID:     cmd.CommandID,
				Arguments:     []any{nil, float64(streamID)},
			})
			if err != nil {
				return nil, err
			}
		case "publish", "play":
			req.Publish = cmd.Name == "publish"
			req.cmd = cmd
			if len(cmd.Arguments) >= 2 {
				req.Name, _ = cmd.Arguments[1].(string)
			}
			return req, nil
		}
		// releaseStream, FCPublish, getStreamLength and the like need no answer.
	}
	return nil, errors.New("too many commands without publishing")
}

// readCommand returns the next AMF0 command, skipping at most limit other
// messages (chunk size, window size and other control messages).
func readCommand(c commandConn, limit int) (*message.CommandAMF0, error) {
	for range limit {
		msg, err := c.Read()
		if err != nil {
			return nil, err
		}
		if cmd, ok := msg.(*message.CommandAMF0); ok {
			return cmd, nil
		}
	}
	return nil, errors.New("too many messages without a command")
}

// acceptPublish tells the client that it publishes now.
func acceptPublish(c commandConn, req *request) error {
	if err := c.Write(&message.UserControlStreamBegin{StreamID: streamID}); err != nil {
		return err
	}
	return writeStatus(c, req, "status", "NetStream.Publish.Start", "Publishing "+truncate(req.Name)+".")
}

// refuse answers the publish or play command with an error status.
func refuse(c commandConn, req *request, code, description string) error {
	return writeStatus(c, req, "error", code, description)
}

func writeStatus(c commandConn, req *request, level, code, description string) error {
	id := 0
	if req.cmd != nil {
		id = req.cmd.CommandID
	}
	return c.Write(&message.CommandAMF0{
		ChunkStreamID:   statusChunkID,
		MessageStreamID: statusStreamID,
		Name:            "onStatus",
		CommandID:       id,
		Arguments: []any{
			nil,
			amf0.Object{
				{Key: "level", Value: level},
				{Key: "code", Value: code},
				{Key: "description", Value: description},
			},
		},
	})
}

// maxKeyLength bounds a stream key: longer names are refused unread.
const maxKeyLength = 256

// streamKey finds the stream key of a request: the stream name of
// rtmp://host/live/<key>, or the last path element of the URL the client
// connected to when it carries the key in the application path
// (rtmp://host/app/<key> with an empty stream name). A query string
// (?token=…) is not part of the key.
func streamKey(tcURL, app, name string) (string, error) {
	if i := strings.IndexByte(name, '?'); i >= 0 {
		name = name[:i]
	}
	name = strings.Trim(name, "/")
	if name == "" {
		// The key is the last element of the application path.
		path := app
		if u, err := url.Parse(tcURL); err == nil && u.Path != "" {
			path = u.Path
		}
		if i := strings.IndexByte(path, '?'); i >= 0 {
			path = path[:i]
		}
		path = strings.Trim(path, "/")
		name = path[strings.LastIndexByte(path, '/')+1:]
		if name == path && path == strings.Trim(app, "/") && !strings.Contains(app, "/") {
			// Only an application and no stream: there is no key.
			name = ""
		}
	} else if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	switch {
	case name == "":
		return "", errors.New("no stream key in the publish request")
	case len(name) > maxKeyLength:
		return "", fmt.Errorf("a stream key of %d bytes is too long", len(name))
	}
	return name, nil
}

func objectOf(v any) (amf0.Object, bool) {
	switch o := v.(type) {
	case amf0.Object:
		return o, true
	case amf0.ECMAArray:
		return amf0.Object(o), true
	}
	return nil, false
}

// truncate shortens a client-supplied string for logs and answers.
func truncate(s string) string {
	const limit = 64
	if len(s) > limit {
		return s[:limit] + "…"
	}
	return s
}
