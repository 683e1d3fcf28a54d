// authmilter::spf libspf2 handles — the one place that includes libspf2 and owns its objects.
//
// What: libspf2 1.2.10's headers (which have no extern "C" guards of their own) and a
//   std::unique_ptr with its deleter for each libspf2 object the SPF module creates: server,
//   request, response, compiled record.
// Internal to the spf module (src/spf/); nothing outside it sees a libspf2 type.
#pragma once

// clang-format off
#include <arpa/inet.h>
#include <netdb.h>
extern "C" {
#include <spf2/spf.h>
#include <spf2/spf_dns.h>
#include <spf2/spf_dns_rr.h>
#include <spf2/spf_record.h>
#include <spf2/spf_request.h>
}
// clang-format on

#include <memory>

namespace authmilter::spf {

struct ServerFree {
  void operator()(SPF_server_t* server) const { SPF_server_free(server); }
};
struct RequestFree {
  void operator()(SPF_request_t* request) const { SPF_request_free(request); }
};
struct ResponseFree {
  void operator()(SPF_response_t* response) const { SPF_response_free(response); }
};
struct RecordFree {
  void operator()(SPF_record_t* record) const { SPF_record_free(record); }
};
using ServerPtr = std::unique_ptr<SPF_server_t, ServerFree>;
using RequestPtr = std::unique_ptr<SPF_request_t, RequestFree>;
using ResponsePtr = std::unique_ptr<SPF_response_t, ResponseFree>;
using RecordPtr = std::unique_ptr<SPF_record_t, RecordFree>;

}  // namespace authmilter::spf
