#pragma once
// HTTP/1.x request parsing for classification: the host a client asked for.
//
// Pure: reads only the given bytes, keeps no state between calls, throws nothing of its own
// (std::string may still throw bad_alloc) and may be called from any thread.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "classify/parse_status.h"

namespace nm {

// Bytes of request line plus headers looked at. Longer header blocks are rare and are mostly
// cookies after Host; a Host line that does not end within the cap is not seen.
inline constexpr size_t kMaxHttpHeaderBytes = 8 * 1024;

// Finds the host of the first HTTP/1.x request in a client's TCP byte stream.
//
// `stream` holds the client-to-server bytes from the first byte of the connection, possibly
// several segments concatenated by the caller. The request line must be
// "METHOD SP target SP HTTP/1.d" with METHOD one of GET, POST, HEAD, PUT, DELETE, OPTIONS,
// CONNECT, PATCH, TRACE. Lines end in LF, with or without CR.
// The host is taken from the first Host header (name matched case-insensitively, whitespace
// around the value ignored); without one, from a CONNECT request's authority or an
// absolute-form target ("GET http://host/ HTTP/1.1"). It is lower-cased, a ":port" is stripped
// and an IPv6 literal loses its brackets ("[2001:DB8::1]:8080" -> "2001:db8::1"). A value that
// is not a plain host name ([A-Za-z0-9._-], 1..253 characters) or a bracketed IPv6 literal
// counts as absent.
//   kFound     `host` is set. Returned as soon as the Host line is complete, even if the
//              header block is not.
//   kNeedMore  a valid prefix of a request: call again with the stream extended.
//   kNotThis   the stream does not start with a known method and a space, or the request line
//              is not HTTP/1.x or holds control bytes.
//   kMalformed an HTTP/1.x request whose first kMaxHttpHeaderBytes hold no end of the header
//              block and no Host line, or whose header block ends without a usable host
//              (HTTP/1.0 allows this; the caller counts it and moves on).
// `host` is cleared unless kFound. Once a call has returned anything but kNeedMore, longer
// streams return the same result.
ParseStatus parseHttpRequestHost(std::span<const uint8_t> stream, std::string& host);

}  // namespace nm
