/* authmilter_null_milter: a do-nothing libmilter filter, the floor of the side-by-side
 * benchmark (tests/bench/compare_milters.py, docs/PERFORMANCE.md).
 *
 *   authmilter_null_milter SOCKET      SOCKET as libmilter takes it: unix:/path, inet:PORT@HOST
 *
 * What: registers every callback; each one returns SMFIS_CONTINUE, end of message returns
 *   SMFIS_ACCEPT. It asks for no actions and negotiates no protocol flags of its own (the
 *   MTA's offer minus nothing: every stage is sent and answered), so what it costs is
 *   libmilter's thread per connection, its protocol work and the socket round trips: what
 *   any libmilter filter pays before doing anything.
 * Limits: runs in the foreground until SIGTERM/SIGINT (libmilter's signal thread stops it).
 * Security: benchmark code only; it reads nothing but the milter protocol and keeps no data.
 */
#include <libmilter/mfapi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static sfsistat null_connect(SMFICTX* ctx, char* host, _SOCK_ADDR* addr) {
  (void)ctx;
  (void)host;
  (void)addr;
  return SMFIS_CONTINUE;
}

static sfsistat null_helo(SMFICTX* ctx, char* helo) {
  (void)ctx;
  (void)helo;
  return SMFIS_CONTINUE;
}

static sfsistat null_envelope(SMFICTX* ctx, char** argv) {
  (void)ctx;
  (void)argv;
  return SMFIS_CONTINUE;
}

static sfsistat null_header(SMFICTX* ctx, char* name, char* value) {
  (void)ctx;
  (void)name;
  (void)value;
  return SMFIS_CONTINUE;
}

static sfsistat null_stage(SMFICTX* ctx) {
  (void)ctx;
  return SMFIS_CONTINUE;
}

static sfsistat null_body(SMFICTX* ctx, unsigned char* chunk, size_t length) {
  (void)ctx;
  (void)chunk;
  (void)length;
  return SMFIS_CONTINUE;
}

static sfsistat null_eom(SMFICTX* ctx) {
  (void)ctx;
  return SMFIS_ACCEPT;
}

static sfsistat null_unknown(SMFICTX* ctx, const char* command) {
  (void)ctx;
  (void)command;
  return SMFIS_CONTINUE;
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s unix:/path | inet:PORT@HOST\n", argv[0]);
    return 2;
  }
  const char* socket_spec = argv[1];
  struct smfiDesc description;
  memset(&description, 0, sizeof description);
  description.xxfi_name = (char*)"authmilter_null_milter";
  description.xxfi_version = SMFI_VERSION;
  description.xxfi_flags = 0;
  description.xxfi_connect = null_connect;
  description.xxfi_helo = null_helo;
  description.xxfi_envfrom = null_envelope;
  description.xxfi_envrcpt = null_envelope;
  description.xxfi_header = null_header;
  description.xxfi_eoh = null_stage;
  description.xxfi_body = null_body;
  description.xxfi_eom = null_eom;
  description.xxfi_abort = null_stage;
  description.xxfi_close = null_stage;
  description.xxfi_unknown = null_unknown;
  description.xxfi_data = null_stage;
  if (smfi_setconn((char*)socket_spec) == MI_FAILURE) {
    fprintf(stderr, "authmilter_null_milter: bad socket %s\n", socket_spec);
    return 1;
  }
  if (smfi_register(description) == MI_FAILURE) {
    fprintf(stderr, "authmilter_null_milter: smfi_register failed\n");
    return 1;
  }
  /* A stale UNIX socket from an earlier run would make smfi_main fail. */
  if (smfi_opensocket(1) == MI_FAILURE) {
    fprintf(stderr, "authmilter_null_milter: cannot open %s\n", socket_spec);
    return 1;
  }
  return smfi_main() == MI_SUCCESS ? 0 : 1;
}
