#!/usr/bin/python3
# ARC helper for the integration tests (tests/integration/arc_test.cc), on Debian's
# python3-dkim, so our verifier is never checked against our own sealer and our seal is
# checked by an independent verifier.
#   arc_tool.py sign KEYFILE DOMAIN SELECTOR IN OUT
#       dkim.sign: the author's DKIM-Signature (rsa-sha256, relaxed/relaxed) + message.
#   arc_tool.py seal KEYFILE DOMAIN SELECTOR SRVID IN OUT
#       dkim.arc_sign (needs python3-authres): the message must carry the sealer's own
#       Authentication-Results (authserv-id SRVID); writes the three ARC fields + message.
#   arc_tool.py verify DNSPORT IN
#       dkim.arc_verify with a dnsfunc asking the test DNS server on 127.0.0.1:DNSPORT (the
#       arcverify command only asks port 53); prints "cv=<pass|fail|none> <reason>".
import sys

import dkim
import dns.message
import dns.query
import dns.rdatatype


def txt_from(port):
    def dnsfunc(name, timeout=5):
        qname = name.decode() if isinstance(name, bytes) else name
        query = dns.message.make_query(qname, dns.rdatatype.TXT)
        reply = dns.query.udp(query, "127.0.0.1", timeout=timeout, port=port)
        for rrset in reply.answer:
            if rrset.rdtype == dns.rdatatype.TXT:
                for rdata in rrset:
                    return b"".join(rdata.strings)
        return None
    return dnsfunc


def main():
    if sys.argv[1] == "sign":
        keyfile, domain, selector, path_in, path_out = sys.argv[2:7]
        with open(path_in, "rb") as f:
            data = f.read()
        with open(keyfile, "rb") as f:
            key = f.read()
        signature = dkim.sign(data, selector.encode(), domain.encode(), key,
                              canonicalize=(b"relaxed", b"relaxed"),
                              include_headers=[b"from", b"to", b"subject", b"date",
                                               b"message-id"])
        with open(path_out, "wb") as f:
            f.write(signature + data)
    elif sys.argv[1] == "seal":
        keyfile, domain, selector, srv_id, path_in, path_out = sys.argv[2:8]
        with open(path_in, "rb") as f:
            data = f.read()
        with open(keyfile, "rb") as f:
            key = f.read()
        fields = dkim.arc_sign(data, selector.encode(), domain.encode(), key, srv_id.encode())
        if not fields:
            sys.exit("arc_sign produced no ARC set")
        with open(path_out, "wb") as f:
            f.write(b"".join(fields) + data)
    elif sys.argv[1] == "verify":
        with open(sys.argv[3], "rb") as f:
            data = f.read()
        cv, results, reason = dkim.arc_verify(data, dnsfunc=txt_from(int(sys.argv[2])))
        print("cv=%s %s" % (cv.decode(), reason))
    else:
        sys.exit("usage: arc_tool.py sign|seal|verify ...")


main()
