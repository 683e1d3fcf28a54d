/* authmilter_null_milter: a do-nothing libmilter filter, the floor of the side-by-side
 * benchmark (tests/bench/compare_milters.py, docs/PERFORMANCE.md).
 *
 *   authmilter_null_milter [--no-reply] [--skip-body] SOCKET
 *       SOCKET as libmilter takes it: unix:/path, inet:PORT@HOST
 *
 * What: registers every callback; each one returns SMFIS_CONTINUE, end of message returns
 *   SMFIS_ACCEPT. It asks for no actions and negotiates no protocol flags of its own (every
 *   stage is sent and answered), so what it costs is libmilter's thread per connection, its
 *   protocol work and the socket round trips: what any libmilter filter pays before doing
 *   anything.
 *   --no-reply asks for every SMFIP_NR_* step the MTA offers and answers those stages with
 *   SMFIS_NOREPLY (the floor of a filter that only needs end of message); --skip-body answers
 *   the first body chunk with SMFIS_SKIP. Both exist to check that the load generator honours
 *   what a filter negotiates; the side-by-side table uses the plain filter.
 * Limits: runs in the foreground until SIGTERM/SIGINT (libmilter's signal thread stops it).
 * Security: benchmark code only; it reads nothing but the milter protocol and keeps no data.
 */
#include <libmilter/mfapi.h>
#include <stdio.h>
#include <string.h>

/* Protocol steps (libmilter/mfdef.h SMFIP_*). */
enum {
  kNrHeader = 0x80,
  kSkip = 0x400,
  kNrConnect = 0x1000,
  kNrHelo = 0x2000,
  kNrMail = 0x4000,
  kNrRcpt = 0x8000,
  kNrData = 0x10000,
  kNrUnknown = 0x20000,
  kNrEoh = 0x40000,
  kNrBody = 0x80000,
};

static int no_reply = 0;
static int skip_body = 0;

/* The answer of every stage before end of message. */
static sfsistat stage_reply(void) { return no_reply ? SMFIS_NOREPLY : SMFIS_CONTINUE; }

static sfsistat null_negotiate(SMFICTX* ctx, unsigned long actions, unsigned long steps,
                               unsigned long unused2, unsigned long unused3,
                               unsigned long* want_actions, unsigned long* want_steps,
                               unsigned long* want2, unsigned long* want3) {
  (void)ctx;
  (void)actions;
  (void)unused2;
  (void)unused3;
  unsigned long wanted = 0;
  if (no_reply) {
    wanted |= kNrConnect | kNrHelo | kNrMail | kNrRcpt | kNrData | kNrUnknown | kNrEoh | kNrHeader;
    if (!skip_body) wanted |= kNrBody;
  }
  if (skip_body) wanted |= kSkip;
  if ((steps & wanted) != wanted) return SMFIS_REJECT; /* the MTA cannot do it */
  *want_actions = 0;
  *want_steps = wanted;
  *want2 = 0;
  *want3 = 0;
  return SMFIS_CONTINUE;
}

static sfsistat null_connect(SMFICTX* ctx, char* host, _SOCK_ADDR* addr) {
  (void)ctx;
  (void)host;
  (void)addr;
  return stage_reply();
}

static sfsistat null_helo(SMFICTX* ctx, char* helo) {
  (void)ctx;
  (void)helo;
  return stage_reply();
}

static sfsistat null_envelope(SMFICTX* ctx, char** argv) {
  (void)ctx;
  (void)argv;
  return stage_reply();
}

static sfsistat null_header(SMFICTX* ctx, char* name, char* value) {
  (void)ctx;
  (void)name;
  (void)value;
  return stage_reply();
}

static sfsistat null_eoh_or_data(SMFICTX* ctx) {
  (void)ctx;
  return stage_reply();
}

static sfsistat null_body(SMFICTX* ctx, unsigned char* chunk, size_t length) {
  (void)ctx;
  (void)chunk;
  (void)length;
  if (skip_body) return SMFIS_SKIP;
  return stage_reply();
}

static sfsistat null_eom(SMFICTX* ctx) {
  (void)ctx;
  return SMFIS_ACCEPT;
}

static sfsistat null_abort_or_close(SMFICTX* ctx) {
  (void)ctx;
  return SMFIS_CONTINUE;
}

static sfsistat null_unknown(SMFICTX* ctx, const char* command) {
  (void)ctx;
  (void)command;
  return stage_reply();
}

int main(int argc, char** argv) {
  int arg = 1;
  for (; arg < argc - 1; ++arg) {
    if (strcmp(argv[arg], "--no-reply") == 0) {
      no_reply = 1;
    } else if (strcmp(argv[arg], "--skip-body") == 0) {
      skip_body = 1;
    } else {
      break;
    }
  }
  if (arg != argc - 1) {
    fprintf(stderr, "usage: %s [--no-reply] [--skip-body] unix:/path | inet:PORT@HOST\n", argv[0]);
    return 2;
  }
  const char* socket_spec = argv[arg];
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
  description.xxfi_eoh = null_eoh_or_data;
  description.xxfi_body = null_body;
  description.xxfi_eom = null_eom;
  description.xxfi_abort = null_abort_or_close;
  description.xxfi_close = null_abort_or_close;
  description.xxfi_unknown = null_unknown;
  description.xxfi_data = null_eoh_or_data;
  description.xxfi_negotiate = (no_reply || skip_body) ? null_negotiate : NULL;
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
