#!/usr/bin/env python3
"""Write the TLS server trust anchors of Mozilla's certdata.txt as one PEM bundle.

Hadron's own converter (Python standard library only, so stage 0 needs
nothing more than python3). A root goes into the bundle when:

  - its trust object says CKA_TRUST_SERVER_AUTH CKT_NSS_TRUSTED_DELEGATOR,
  - Mozilla set no CKA_NSS_SERVER_DISTRUST_AFTER date for it (such roots
    are being phased out; leaving them out is the safe side), and
  - its notAfter is later than the build time, $SOURCE_DATE_EPOCH (not the
    wall clock, so the bundle is reproducible).

Certificates are written in certdata.txt's order, each preceded by a
comment with its label, so the output is stable for a given input.

Usage: certdata2bundle.py certdata.txt > ca-certificates.crt
The counts go to stderr.
"""

import base64
import datetime
import os
import sys


def parse(lines):
    """Yield the objects of certdata.txt as dicts of attribute -> value.

    Values are strings for scalar types and bytes for MULTILINE_OCTAL.
    """
    obj, in_data = {}, False
    it = iter(lines)
    for line in it:
        line = line.rstrip("\n")
        if not in_data:
            in_data = line.startswith("BEGINDATA")
            continue
        if line.startswith("#"):
            continue
        if not line.strip():
            if obj:
                yield obj
                obj = {}
            continue
        fields = line.split(None, 2)
        if len(fields) < 2:
            raise ValueError("certdata: cannot parse line %r" % line)
        name, kind = fields[0], fields[1]
        if kind == "MULTILINE_OCTAL":
            data = bytearray()
            for octal in it:
                octal = octal.strip()
                if octal == "END":
                    break
                for part in octal.split("\\")[1:]:
                    data.append(int(part, 8))
            else:
                raise ValueError("certdata: %s: MULTILINE_OCTAL without END" % name)
            obj[name] = bytes(data)
        else:
            obj[name] = fields[2] if len(fields) > 2 else ""
    if obj:
        yield obj


def der_item(buf, pos):
    """Return (tag, start of content, end of content) of the DER item at pos."""
    tag = buf[pos]
    length = buf[pos + 1]
    pos += 2
    if length & 0x80:
        n = length & 0x7F
        length = int.from_bytes(buf[pos:pos + n], "big")
        pos += n
    return tag, pos, pos + length


def not_after(der):
    """Return the notAfter of an X.509 certificate as an aware datetime."""
    _, pos, _ = der_item(der, 0)  # Certificate
    _, pos, _ = der_item(der, pos)  # tbsCertificate
    tag, start, end = der_item(der, pos)
    if tag == 0xA0:  # [0] version
        pos = end
    for _ in range(3):  # serialNumber, signature, issuer
        _, _, pos = der_item(der, pos)
    _, pos, _ = der_item(der, pos)  # validity
    _, _, pos = der_item(der, pos)  # notBefore
    tag, start, end = der_item(der, pos)
    text = der[start:end].decode("ascii")
    if tag == 0x17:  # UTCTime, YYMMDDHHMMSSZ
        year = int(text[:2])
        text = ("19" if year >= 50 else "20") + text
    elif tag != 0x18:  # GeneralizedTime, YYYYMMDDHHMMSSZ
        raise ValueError("certificate: unexpected time tag 0x%02x" % tag)
    return datetime.datetime.strptime(text, "%Y%m%d%H%M%SZ").replace(tzinfo=datetime.timezone.utc)


def bundle(objects, now):
    """Return (PEM text, included count, skipped labels with reasons)."""
    trust = {}
    for o in objects:
        if o.get("CKA_CLASS") == "CKO_NSS_TRUST":
            key = (o.get("CKA_ISSUER"), o.get("CKA_SERIAL_NUMBER"))
            trust[key] = o
    out, skipped, count = [], [], 0
    for o in objects:
        if o.get("CKA_CLASS") != "CKO_CERTIFICATE":
            continue
        label = o.get("CKA_LABEL", "").strip('"')
        t = trust.get((o.get("CKA_ISSUER"), o.get("CKA_SERIAL_NUMBER")))
        if t is None or t.get("CKA_TRUST_SERVER_AUTH") != "CKT_NSS_TRUSTED_DELEGATOR":
            skipped.append((label, "not a TLS server trust anchor"))
            continue
        if isinstance(o.get("CKA_NSS_SERVER_DISTRUST_AFTER"), bytes):
            skipped.append((label, "distrusted for TLS servers after a date"))
            continue
        der = o["CKA_VALUE"]
        if not_after(der) <= now:
            skipped.append((label, "expired"))
            continue
        b64 = base64.b64encode(der).decode("ascii")
        out.append("# %s\n-----BEGIN CERTIFICATE-----\n" % label)
        out.extend(b64[i:i + 64] + "\n" for i in range(0, len(b64), 64))
        out.append("-----END CERTIFICATE-----\n")
        count += 1
    return "".join(out), count, skipped


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: certdata2bundle.py certdata.txt > bundle.crt\n")
        return 2
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if not epoch:
        sys.stderr.write("certdata2bundle: SOURCE_DATE_EPOCH is not set\n")
        return 2
    now = datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc)
    with open(argv[1], encoding="utf-8") as f:
        objects = list(parse(f))
    pem, count, skipped = bundle(objects, now)
    if count == 0:
        sys.stderr.write("certdata2bundle: no trust anchor in %s\n" % argv[1])
        return 1
    sys.stdout.write(pem)
    for label, why in skipped:
        sys.stderr.write("skipped %s: %s\n" % (label, why))
    sys.stderr.write("%d trust anchors, %d certificates skipped\n" % (count, len(skipped)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
