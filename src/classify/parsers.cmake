# Sources of the classification parsers (TLS ClientHello, HTTP Host, DNS), relative to
# src/classify. Pure functions over bytes; they need only nm_core.
set(NM_CLASSIFY_PARSER_SOURCES
  tls/client_hello.cc
  http/http_host.cc
  dns/dns_message.cc)
