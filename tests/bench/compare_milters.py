#!/usr/bin/python3
"""compare_milters.py: authmilter side by side with OpenDKIM -> OpenDMARC and a do-nothing filter.

    tests/bench/compare_milters.py --build-dir BUILD [--quick] [--targets null,chain,authmilter]
                                   [--rounds N] [--seconds S] [--concurrency 1,4,16]
                                   [--perf] [--out DIR] [--keep] [--null-no-reply]
                                   [--chain-reads-dkim]

What (docs/PERFORMANCE.md, "Side by side with OpenDKIM->OpenDMARC and a do-nothing filter"):
  builds nothing; takes a build tree configured with -DAUTHMILTER_BENCH=ON in which authmilter,
  authmilter_null_milter and authmilter_milter_loadgen are built. Starts, all on loopback and in
  a private temp dir: NSD on port 53 of a spare loopback address (127.0.0.77 or the next free
  one) serving the benchmark zone (SPF pass for the client 192.0.2.10, DMARC p=reject, the
  rsa2048 DKIM key, the client's PTR/A), Debian's OpenDKIM (Mode v) and OpenDMARC
  (SPFSelfValidate, TrustedAuthservIDs = OpenDKIM's AuthservID, no history, no reports; its
  own resolv.conf through `unshare --mount` and a bind mount, so the machine's /etc is not
  touched), authmilter (all checks on, its defaults otherwise) and the do-nothing filter. Each
  target is warmed up, then the targets run INTERLEAVED at each concurrency, the order rotated
  every round, for several rounds; the table gives medians over the rounds.
  authmilter_milter_loadgen plays Postfix (see its header) and checks every reply: the chain
  must give dkim=pass (OpenDKIM) and dmarc=pass (OpenDMARC), authmilter dkim=pass, spf=pass and
  dmarc=pass in its Authentication-Results; the first unexpected reply ends the run (status 1).
Bounds: no new round starts after --budget seconds (default 500, --quick 60), so a whole run
  stays under 12 min (--quick: 2 min); each loadgen run stops starting messages after --seconds;
  every process started here is stopped by PID (SIGTERM, then SIGKILL after 5 s) on every exit
  path, and gets SIGTERM from the kernel if this script dies (PR_SET_PDEATHSIG).
Prints the table of docs/PERFORMANCE.md, the ratios, authmilter's RSS (start, after the
  warm-up, after each round, end) and which goals of issue 15 this run meets.
Needs: root (port 53, the mount namespace), packaging/install-deps.sh --bench.
"""

import argparse
import ctypes
import json
import os
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time

CLIENT_IP = "192.0.2.10"
OPENDKIM_ID = "opendkim.bench.example"
OPENDMARC_ID = "opendmarc.bench.example"
AUTHMILTER_ID = "authmilter.bench.example"
ALL_TARGETS = ("null", "chain", "authmilter")
LABELS = {
    "null": "do-nothing libmilter filter",
    "chain": "OpenDKIM -> OpenDMARC",
    "authmilter": "authmilter (all checks)",
}


def log(text):
    print(text, file=sys.stderr, flush=True)


def die_with_parent():
    """In the child before exec: SIGTERM when this script dies, even by SIGKILL
    (prctl PR_SET_PDEATHSIG), so no daemon outlives an interrupted run."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)


class Processes:
    """Every process this script starts, stopped by PID in reverse order."""

    def __init__(self):
        self.started = []

    def start(self, name, argv, log_path, **kwargs):
        with open(log_path, "ab") as out:
            proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, preexec_fn=die_with_parent,
                                    **kwargs)
        self.started.append((name, proc))
        return proc

    def stop_all(self):
        for name, proc in reversed(self.started):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    log(f"{name} (pid {proc.pid}) ignored SIGTERM; SIGKILL")
                    proc.kill()
                    proc.wait(timeout=5)
        self.started.clear()


def free_loopback_dns_address():
    for last in range(77, 100):
        address = f"127.0.0.{last}"
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp, \
                    socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                udp.bind((address, 53))
                tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                tcp.bind((address, 53))
            return address
        except OSError:
            continue
    raise SystemExit("no free port 53 on 127.0.0.77..99")


def dns_query(address, name, qtype=16, timeout=0.5):
    """One UDP query; returns the rcode and answer count, or None on timeout."""
    query = struct.pack(">HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        query += bytes([len(label)]) + label.encode()
    query += b"\0" + struct.pack(">HH", qtype, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.settimeout(timeout)
        udp.sendto(query, (address, 53))
        try:
            reply = udp.recv(4096)
        except socket.timeout:
            return None
    return reply[3] & 0x0F, struct.unpack(">H", reply[6:8])[0]


def write(path, text):
    with open(path, "w", encoding="utf-8") as out:
        out.write(text)


def zones(dns_address, dkim_record):
    soa = "@ SOA ns.example.org. hostmaster.example.org. 1 3600 600 86400 3600\n@ NS ns.example.org.\n"
    example_org = (
        "$ORIGIN example.org.\n$TTL 3600\n" + soa +
        f"ns A {dns_address}\n"
        f"@ TXT \"v=spf1 ip4:{CLIENT_IP} -all\"\n"
        "@ MX 10 mail.example.org.\n"
        f"mail A {CLIENT_IP}\n"
        "mail TXT \"v=spf1 a -all\"\n"
        "_dmarc TXT \"v=DMARC1; p=reject\"\n"
        f"rsa2048._domainkey TXT {dkim_record}\n")
    example_net = ("$ORIGIN example.net.\n$TTL 3600\n" + soa +
                   "@ MX 10 mx.example.net.\nmx A 192.0.2.25\n")
    reverse = ("$ORIGIN 2.0.192.in-addr.arpa.\n$TTL 3600\n" + soa +
               "10 PTR mail.example.org.\n")
    # The parents too, as the Internet's resolvers answer them: RFC 9989's DMARC tree walk
    # asks _dmarc.org; without an org zone NSD answers REFUSED, which no cache keeps, and
    # every message would wait for one more query that a real resolver answers NXDOMAIN
    # (cached for the SOA's negative TTL).
    tld_soa = "@ SOA ns.example.org. hostmaster.example.org. 1 3600 600 86400 3600\n"
    org = ("$ORIGIN org.\n$TTL 3600\n" + tld_soa + "@ NS ns.example.org.\n"
           "example NS ns.example.org.\nns.example A " + dns_address + "\n")
    net = ("$ORIGIN net.\n$TTL 3600\n" + tld_soa + "@ NS ns.example.org.\n"
           "example NS ns.example.org.\nns.example A " + dns_address + "\n")
    return {"example.org": example_org, "example.net": example_net,
            "2.0.192.in-addr.arpa": reverse, "org": org, "net": net}


def nsd_conf(work, address, zone_names):
    conf = ("server:\n"
            f"  ip-address: {address}\n  port: 53\n  do-ip6: no\n"
            "  username: \"\"\n  chroot: \"\"\n"
            f"  zonesdir: \"{work}\"\n  pidfile: \"{work}/nsd.pid\"\n  database: \"\"\n"
            f"  xfrdfile: \"{work}/xfrd.state\"\n  xfrdir: \"{work}\"\n"
            f"  zonelistfile: \"{work}/zone.list\"\n  logfile: \"{work}/nsd.log\"\n"
            "  verbosity: 1\n  server-count: 1\n  hide-version: yes\n"
            # Debian's NSD limits responses to 200/s per /24 by default (RRL): the benchmark
            # asks more often than that from 127.0.0.0/24.
            "  rrl-ratelimit: 0\n  rrl-whitelist-ratelimit: 0\n"
            "remote-control:\n  control-enable: no\n")
    for name in zone_names:
        conf += f"zone:\n  name: \"{name}\"\n  zonefile: \"{name}.zone\"\n"
    return conf


def wait_for_socket(path, proc, name, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{name} exited with status {proc.returncode} while starting")
        if os.path.exists(path):
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                    probe.connect(path)
                return
            except OSError:
                pass
        time.sleep(0.1)
    raise SystemExit(f"{name} did not open {path} within {timeout} s")


def rss_kib(pid):
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cpu_seconds(pids):
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
        except OSError:
            pass
    return total


class Bench:
    def __init__(self, args):
        self.args = args
        self.build = os.path.abspath(args.build_dir)
        self.bin = {
            "authmilter": os.path.join(self.build, "authmilter"),
            "null": os.path.join(self.build, "tests/bench/authmilter_null_milter"),
            "loadgen": os.path.join(self.build, "tests/bench/authmilter_milter_loadgen"),
        }
        if not os.path.exists(self.bin["authmilter"]):
            found = [os.path.join(d, "authmilter") for d, _, files in os.walk(self.build)
                     if "authmilter" in files and os.access(os.path.join(d, "authmilter"), os.X_OK)]
            if found:
                self.bin["authmilter"] = found[0]
        for name, path in self.bin.items():
            if not os.access(path, os.X_OK):
                raise SystemExit(f"{path} is missing: build it (cmake -DAUTHMILTER_BENCH=ON, "
                                 "targets authmilter authmilter_null_milter "
                                 "authmilter_milter_loadgen)")
        self.procs = Processes()
        self.work = tempfile.mkdtemp(prefix="compare_milters.")
        self.pids = {}      # target -> daemon pids (for CPU time)
        self.sockets = {}   # target -> loadgen --target value
        self.expect = {}    # target -> loadgen --expect arguments
        self.failed = False  # a failed run keeps the temp dir for its logs

    # ---- start-up ----

    def start_dns(self):
        address = free_loopback_dns_address()
        record = subprocess.run([self.bin["loadgen"], "--dkim-record"], check=True,
                                capture_output=True, text=True).stdout.strip()
        zone_texts = zones(address, record)
        for name, text in zone_texts.items():
            write(f"{self.work}/{name}.zone", text)
        write(f"{self.work}/nsd.conf", nsd_conf(self.work, address, zone_texts))
        proc = self.procs.start("nsd", ["/usr/sbin/nsd", "-d", "-c", f"{self.work}/nsd.conf"],
                                f"{self.work}/nsd.out")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SystemExit("nsd exited while starting; see " + self.work + "/nsd.out")
            answer = dns_query(address, "_dmarc.example.org")
            if answer and answer[0] == 0 and answer[1] == 1:
                break
            time.sleep(0.1)
        else:
            raise SystemExit("nsd did not answer for _dmarc.example.org")
        answer = dns_query(address, "rsa2048._domainkey.example.org")
        if not answer or answer[1] != 1:
            raise SystemExit("nsd serves no DKIM key record; zone: " + self.work)
        self.dns = address
        write(f"{self.work}/resolv.conf", f"nameserver {address}\n")
        log(f"nsd serves the benchmark zone on {address}:53")

    def start_null(self):
        path = f"{self.work}/null.sock"
        argv = [self.bin["null"]] + (["--no-reply"] if self.args.null_no_reply else [])
        proc = self.procs.start("null", argv + [f"unix:{path}"], f"{self.work}/null.log")
        wait_for_socket(path, proc, "authmilter_null_milter")
        self.pids["null"] = [proc.pid]
        self.sockets["null"] = f"unix:{path}"
        self.expect["null"] = []

    def start_chain(self):
        for tool in ("/usr/sbin/opendkim", "/usr/sbin/opendmarc"):
            if not os.access(tool, os.X_OK):
                raise SystemExit(f"{tool} is missing: packaging/install-deps.sh --bench")
        write(f"{self.work}/opendkim.conf", "\n".join([
            "Mode v",
            f"Socket local:{self.work}/opendkim.sock",
            f"PidFile {self.work}/opendkim.pid",
            f"AuthservID {OPENDKIM_ID}",
            "Syslog no",
            "SoftwareHeader no",
            f"Nameservers {self.dns}",
            "UMask 007",
        ]) + "\n")
        dkim = self.procs.start("opendkim", ["/usr/sbin/opendkim", "-f", "-x",
                                             f"{self.work}/opendkim.conf"],
                                f"{self.work}/opendkim.log")
        write(f"{self.work}/opendmarc.conf", "\n".join([
            f"Socket local:{self.work}/opendmarc.sock",
            f"PidFile {self.work}/opendmarc.pid",
            f"AuthservID {OPENDMARC_ID}",
            f"TrustedAuthservIDs {OPENDKIM_ID}",
            "SPFSelfValidate true",
            "SPFIgnoreResults true",
            "IgnoreAuthenticatedClients false",
            "FailureReports false",
            "RejectFailures true",
            "Syslog false",
            "SoftwareHeader false",
            "PublicSuffixList /usr/share/publicsuffix/public_suffix_list.dat",
            "UMask 007",
        ]) + "\n")
        # OpenDMARC (and libspf2 under it) read /etc/resolv.conf: give it ours in a private
        # mount namespace; exec keeps the PID, so it is stopped like the others.
        dmarc = self.procs.start("opendmarc", [
            "unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c",
            f"mount --bind {self.work}/resolv.conf /etc/resolv.conf && "
            f"exec /usr/sbin/opendmarc -f -c {self.work}/opendmarc.conf"],
            f"{self.work}/opendmarc.log")
        wait_for_socket(f"{self.work}/opendkim.sock", dkim, "opendkim")
        wait_for_socket(f"{self.work}/opendmarc.sock", dmarc, "opendmarc")
        self.pids["chain"] = [dkim.pid, dmarc.pid]
        self.sockets["chain"] = f"unix:{self.work}/opendkim.sock,unix:{self.work}/opendmarc.sock"
        self.expect["chain"] = ["--expect", "1:dkim=pass", "--expect", "2:dmarc=pass"]
        if self.args.chain_reads_dkim:
            self.expect["chain"].append("--visible-inserts")

    def start_authmilter(self):
        path = f"{self.work}/authmilter.sock"
        write(f"{self.work}/authmilter.conf", "\n".join([
            f"Socket unix:{path}",
            f"AuthservID {AUTHMILTER_ID}",
            f"DNSServers {self.dns}",
            "Syslog no",
            "SenderID always",
        ]) + "\n")
        proc = self.procs.start("authmilter", [self.bin["authmilter"], "-f", "-c",
                                               f"{self.work}/authmilter.conf"],
                                f"{self.work}/authmilter.log")
        wait_for_socket(path, proc, "authmilter")
        self.authmilter_pid = proc.pid
        self.pids["authmilter"] = [proc.pid]
        self.sockets["authmilter"] = f"unix:{path}"
        self.expect["authmilter"] = ["--expect", f"1:{AUTHMILTER_ID}", "--expect", "1:dkim=pass",
                                     "--expect", "1:spf=pass", "--expect", "1:dmarc=pass"]

    # ---- runs ----

    LOGS = {"null": ["null.log"], "chain": ["opendkim.log", "opendmarc.log"],
            "authmilter": ["authmilter.log"]}

    def log_tails(self, target, lines=8):
        """The last lines of the target's logs and whether its processes still run."""
        text = ""
        for name, proc in self.procs.started:
            if proc.poll() is not None and name != "perf":
                text += f"{name} (pid {proc.pid}) has exited with status {proc.returncode}\n"
        for name in self.LOGS.get(target, []) + ["nsd.log"]:
            try:
                with open(f"{self.work}/{name}", encoding="utf-8", errors="replace") as f:
                    tail = f.readlines()[-lines:]
            except OSError:
                continue
            if tail:
                text += f"--- {name}:\n" + "".join(tail)
        return text

    def load(self, target, concurrency, seconds, show_edits=False):
        argv = [self.bin["loadgen"], "--target", self.sockets[target],
                "--concurrency", str(concurrency), "--seconds", str(seconds)] + self.expect[target]
        if show_edits:
            argv.append("--show-edits")
        cpu_before = cpu_seconds(self.pids[target])
        done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 120,
                              preexec_fn=die_with_parent)
        if done.returncode != 0:
            self.failed = True
            raise SystemExit(f"{target} at c={concurrency}: {done.stderr.strip()}\n" +
                             self.log_tails(target) + f"(configs and logs kept in {self.work})")
        if show_edits and done.stderr:
            log(f"{target}: what the first message got\n{done.stderr.rstrip()}")
        result = json.loads(done.stdout)
        result["cpu_ms_per_msg"] = ((cpu_seconds(self.pids[target]) - cpu_before) * 1e3 /
                                    max(result["messages"], 1))
        return result

    def profile(self, concurrency, seconds):
        """`perf record -g` on authmilter during one extra run (not in the table, since
        sampling slows it), then `perf report --stdio` into OUT/perf-report.txt."""
        data = f"{self.args.out}/perf.data"
        perf = subprocess.Popen(["perf", "record", "-g", "-o", data, "-p",
                                 str(self.authmilter_pid)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                preexec_fn=die_with_parent)
        self.procs.started.append(("perf", perf))
        try:
            time.sleep(0.5)  # perf attaches
            result = self.load("authmilter", concurrency, seconds)
        finally:
            perf.send_signal(signal.SIGINT)
            perf.wait(timeout=60)
        log(f"profiled run c={concurrency}: {result['msg_per_s']:.1f} msg/s, "
            f"CPU {result['cpu_ms_per_msg']:.2f} ms/msg")
        with open(f"{self.args.out}/perf-report.txt", "w", encoding="utf-8") as report:
            subprocess.run(["perf", "report", "--stdio", "--no-children", "-i", data],
                           stdout=report, stderr=subprocess.DEVNULL, timeout=300)
        log(f"perf report: {self.args.out}/perf-report.txt (perf.data beside it)")

    def run(self):
        args = self.args
        started = time.monotonic()
        targets = args.targets
        self.start_dns()
        for target in targets:
            getattr(self, f"start_{target}")()
        rss = {}
        if "authmilter" in targets:
            rss["start"] = rss_kib(self.authmilter_pid)
        log("warm-up")
        for target in targets:
            self.load(target, 4, args.warmup, show_edits=True)
        if "authmilter" in targets:
            rss["after warm-up"] = rss_kib(self.authmilter_pid)
        results = {t: {c: [] for c in args.concurrency} for t in targets}
        for round_index in range(args.rounds):
            if round_index and time.monotonic() - started > args.budget:
                log(f"budget of {args.budget} s used: stopping after {round_index} rounds")
                break
            for c_index, concurrency in enumerate(args.concurrency):
                shift = (round_index + c_index) % len(targets)
                for target in targets[shift:] + targets[:shift]:
                    result = self.load(target, concurrency, args.seconds)
                    results[target][concurrency].append(result)
                    log(f"round {round_index + 1} c={concurrency:<2} {target:<10} "
                        f"{result['msg_per_s']:8.1f} msg/s  p99 {result['total_p99_ms']:7.1f} ms  "
                        f"EOM p99 {result['eom_p99_ms']:6.1f} ms  "
                        f"CPU {result['cpu_ms_per_msg']:.2f} ms/msg "
                        f"(client {result['client_cpu_ms_per_msg']:.2f})")
            if "authmilter" in targets:
                rss[f"round {round_index + 1}"] = rss_kib(self.authmilter_pid)
        if "authmilter" in targets:
            rss["end"] = rss_kib(self.authmilter_pid)
        if args.perf and "authmilter" in targets:
            self.profile(max(args.concurrency), args.seconds)
        with open(f"{args.out}/results.json", "w", encoding="utf-8") as out:
            json.dump({"results": {t: {str(c): r for c, r in v.items()}
                                   for t, v in results.items()}, "rss_kib": rss}, out, indent=1)
        print(table(results, rss, args, time.monotonic() - started))

    def close(self):
        self.procs.stop_all()
        if self.args.keep or self.failed:
            log(f"kept {self.work}")
        else:
            shutil.rmtree(self.work, ignore_errors=True)


def median(values):
    return statistics.median(values) if values else float("nan")


def table(results, rss, args, elapsed):
    concurrencies = args.concurrency
    high = max(concurrencies)
    low = min(concurrencies)
    lines = []
    header = ("| target | " + " | ".join(f"c={c} msg/s" for c in concurrencies) +
              f" | p99 per message c={high} | EOM p99 c={high} | EOM p99 c={high} ≤200 KB"
              f" | CPU per message c={high} | client CPU c={high} |")
    lines.append(header)
    lines.append("|" + "---|" * (header.count("|") - 1))
    rate = {}
    for target, by_c in results.items():
        rate[target] = {c: median([r["msg_per_s"] for r in runs]) for c, runs in by_c.items()}
        top = by_c[high]
        lines.append(
            f"| {LABELS[target]} | " +
            " | ".join(f"{rate[target][c]:.0f}" for c in concurrencies) +
            f" | {median([r['total_p99_ms'] for r in top]):.1f} ms"
            f" | {median([r['eom_p99_ms'] for r in top]):.1f} ms"
            f" | {median([r['eom_p99_small_ms'] for r in top]):.1f} ms"
            f" | {median([r['cpu_ms_per_msg'] for r in top]):.2f} ms"
            f" | {median([r['client_cpu_ms_per_msg'] for r in top]):.2f} ms |")
    lines.append("")
    lines.append(f"Per message at c={low} (median time of one message of that size):")
    for target, by_c in results.items():
        parts = []
        for index, label in ((3, "2 MB"), (0, "4 KB")):
            ms = median([r["sizes"][index]["total_p50_ms"] for r in by_c[low]
                         if len(r["sizes"]) > index])
            parts.append(f"{label} {ms:.2f} ms ({1e3 / ms:.0f} msg/s)")
        lines.append(f"  {LABELS[target]}: " + ", ".join(parts))
    lines.append(f"End of message by size at c={high} (p50 / p99, ms):")
    for target, by_c in results.items():
        runs = by_c[high]
        parts = []
        for index in range(len(runs[0]["sizes"]) if runs else 0):
            octets = runs[0]["sizes"][index]["octets"]
            p50 = median([r["sizes"][index]["eom_p50_ms"] for r in runs])
            p99 = median([r["sizes"][index]["eom_p99_ms"] for r in runs])
            parts.append(f"{octets / 1024:.0f} KiB {p50:.1f} / {p99:.1f}")
        lines.append(f"  {LABELS[target]}: " + ", ".join(parts))
    if "authmilter" in results:
        for other in ("chain", "null"):
            if other in results:
                lines.append(f"authmilter/{other} msg/s: " + ", ".join(
                    f"c={c} {rate['authmilter'][c] / rate[other][c]:.2f}×"
                    for c in concurrencies))
        lines.append("authmilter RSS: " + ", ".join(f"{k} {v / 1024:.1f} MiB"
                                                    for k, v in rss.items()))
    if all(t in results for t in ALL_TARGETS):
        lines.extend(goals(results, rate, rss, concurrencies))
    rounds = len(next(iter(results.values()))[high])
    lines.append(f"({rounds} rounds, {args.seconds} s per run, medians; {elapsed:.0f} s in all)")
    return "\n".join(lines)


def goals(results, rate, rss, concurrencies):
    """Issue 15's goals, each met or missed, from the medians of this run."""
    def p99(target, c, key="total_p99_ms"):
        return median([r[key] for r in results[target][c]])
    high, low = max(concurrencies), min(concurrencies)
    checks = [
        ("msg/s ≥ 2× the chain's at every concurrency",
         all(rate["authmilter"][c] >= 2 * rate["chain"][c] for c in concurrencies)),
        ("msg/s ≥ 0.6× the do-nothing filter's at every concurrency",
         all(rate["authmilter"][c] >= 0.6 * rate["null"][c] for c in concurrencies)),
        ("p99 per message ≤ the chain's at every concurrency (" + ", ".join(
            f"c={c} {p99('authmilter', c):.0f}/{p99('chain', c):.0f} ms"
            for c in concurrencies) + ")",
         all(p99("authmilter", c) <= p99("chain", c) for c in concurrencies)),
        (f"EOM p99 ≤ 2 ms for messages ≤ 200 KB at c={high} "
         f"({p99('authmilter', high, 'eom_p99_small_ms'):.1f} ms)",
         p99("authmilter", high, "eom_p99_small_ms") <= 2.0),
    ]
    mb2 = {t: median([r["sizes"][3]["total_p50_ms"] for r in results[t][low]
                      if len(r["sizes"]) > 3]) for t in ("authmilter", "null")}
    checks.append((f"2 MB message within 1.5× the do-nothing filter's time at c={low} "
                   f"({mb2['authmilter']:.1f} vs {mb2['null']:.1f} ms)",
                   mb2["authmilter"] <= 1.5 * mb2["null"]))
    rounds = [v for k, v in rss.items() if k.startswith("round")]
    if len(rounds) >= 2:
        checks.append(("RSS does not grow over the rounds (" +
                       f"{rounds[0] / 1024:.1f} → {rounds[-1] / 1024:.1f} MiB)",
                       rounds[-1] <= rounds[0] * 1.05))
    return ["", "Goals of issue 15:"] + [
        f"  [{'met' if ok else 'MISSED'}] {text}" for text, ok in checks]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build-dir", required=True)
    parser.add_argument("--quick", action="store_true", help="2 rounds of 2 s: about 1.5 min")
    parser.add_argument("--targets", default=",".join(ALL_TARGETS))
    parser.add_argument("--concurrency", default="1,4,16")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--seconds", type=float, help="per loadgen run")
    parser.add_argument("--warmup", type=float)
    parser.add_argument("--budget", type=float, help="no new round after this many seconds")
    parser.add_argument("--perf", action="store_true",
                        help="perf record -g on authmilter during one extra run at the top "
                             "concurrency, after the rounds")
    parser.add_argument("--out", help="results.json and the perf report (default BUILD/compare_milters)")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (configs, logs)")
    parser.add_argument("--chain-reads-dkim", action="store_true",
                        help="OpenDMARC sees OpenDKIM's Authentication-Results (not what Postfix "
                             "does with Debian's OpenDKIM, which inserts it above Postfix's "
                             "hidden Received:)")
    parser.add_argument("--null-no-reply", action="store_true",
                        help="the do-nothing filter asks for every no-reply step (SMFIP_NR_*)")
    args = parser.parse_args()
    args.targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    if not args.targets or any(t not in ALL_TARGETS for t in args.targets):
        parser.error(f"--targets: a list of {','.join(ALL_TARGETS)}")
    args.concurrency = [int(c) for c in args.concurrency.split(",")]
    if any(c < 1 or c > 256 for c in args.concurrency):
        parser.error("--concurrency: 1..256")
    quick = args.quick
    args.rounds = args.rounds or (2 if quick else 5)
    args.seconds = args.seconds or (2.0 if quick else 8.0)
    args.warmup = args.warmup or (1.0 if quick else 3.0)
    args.budget = args.budget or (60.0 if quick else 500.0)
    if args.rounds < 1 or args.rounds > 50 or args.seconds > 120:
        parser.error("--rounds 1..50, --seconds up to 120")
    args.out = os.path.abspath(args.out or os.path.join(args.build_dir, "compare_milters"))
    os.makedirs(args.out, exist_ok=True)
    if os.geteuid() != 0:
        raise SystemExit("compare_milters.py needs root (port 53 and a mount namespace)")

    bench = Bench(args)

    def stop(signum, _frame):
        raise SystemExit(f"signal {signum}")
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        bench.run()
    except BaseException:
        bench.failed = True  # keep the configs and logs
        raise
    finally:
        bench.close()


if __name__ == "__main__":
    main()
