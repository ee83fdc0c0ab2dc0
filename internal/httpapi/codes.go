package httpapi

import (
	"errors"

	"github.com/simple-comet/simple-comet/internal/comet"
)

// apiError is a return code with its fixed message. Clients only ever see
// these messages, never an internal error's text.
type apiError struct {
	code int
	msg  string
}

func (e *apiError) Error() string { return e.msg }

// Return codes of PROTOCOL.md.
const (
	codeOK          = 1
	codeRemoved     = 2
	codeMalformed   = -1
	codeConflict    = -2
	codeUnknownUser = -3
	codeForbidden   = -4
	codeUnavailable = -5
)

var (
	errUnknownFormat    = &apiError{codeMalformed, "Unknown output format"}
	errUnknownResource  = &apiError{codeMalformed, "Unknown resource"}
	errMethod           = &apiError{codeMalformed, "Method not allowed"}
	errBodyTooLarge     = &apiError{codeMalformed, "Request body too large"}
	errBadBody          = &apiError{codeMalformed, "Malformed request body"}
	errMissingChannelID = &apiError{codeMalformed, "Missing channel_id"}
	errInvalidChannel   = &apiError{codeMalformed, "Invalid channel name"}
	errReservedChannel  = &apiError{codeMalformed, "Reserved channel name"}
	errMissingClientID  = &apiError{codeMalformed, "Missing client_id"}
	errInvalidClientID  = &apiError{codeMalformed, "Invalid client_id"}
	errUseSessions      = &apiError{codeMalformed, "Invalid use_sessions"}
	errMaxMessages      = &apiError{codeMalformed, "Invalid max_messages"}
	errMissingContent   = &apiError{codeMalformed, "Missing content"}
	errInvalidContent   = &apiError{codeMalformed, "Invalid content: not UTF-8"}
	errTooManyChannels  = &apiError{codeMalformed, "Too many channels"}
	errForbidden        = &apiError{codeForbidden, "Not authorised"}
	errConnections      = &apiError{codeUnavailable, "Too many connections"}
	errUnavailable      = &apiError{codeUnavailable, "Temporarily unavailable"}
	// errRequestTimeout has no return code: a request that did not arrive
	// whole in time is answered 408 in plain text (requestTimedOut).
	errRequestTimeout = &apiError{0, "Request Timeout"}
)

// kinds maps the domain's error kinds to return codes, first match wins.
var kinds = []struct {
	kind error
	api  *apiError
}{
	{comet.ErrChannelExists, &apiError{codeConflict, "Channel already exists"}},
	{comet.ErrClientExists, &apiError{codeConflict, "Client already exists"}},
	{comet.ErrNoChannel, &apiError{codeConflict, "Nonexistent channel"}},
	{comet.ErrNoValidChannels, &apiError{codeConflict, "No valid channels"}},
	{comet.ErrUnknownClient, &apiError{codeUnknownUser, "Unknown client_id"}},
	{comet.ErrCapacity, &apiError{codeUnavailable, "Capacity limit reached"}},
	{comet.ErrClosed, &apiError{codeUnavailable, "Server shutting down"}},
}

// toAPI maps any error to its reply; known reports whether it was one of the
// domain's kinds (the others are logged in full by the caller).
func toAPI(err error) (api *apiError, known bool) {
	var a *apiError
	if errors.As(err, &a) {
		return a, true
	}
	for _, k := range kinds {
		if errors.Is(err, k.kind) {
			return k.api, true
		}
	}
	return errUnavailable, errors.Is(err, comet.ErrUnavailable)
}
