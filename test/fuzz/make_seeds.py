#!/usr/bin/env python3
"""Writes the committed seed inputs of the fuzz targets whose inputs can be
made without the project's binaries: wire messengers (fuzz_wire), link
datagrams and TCP streams (fuzz_link) and daemon configurations
(fuzz_conf). Valid inputs and near-valid ones (one field off), so the
fuzzer starts past the decoders' first checks.

    test/fuzz/make_seeds.py        # rewrites test/fuzz/seeds-fuzz_{wire,link,conf}
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def crc16(data):
    """CRC-16/XMODEM, as spec A6 uses over bytes 2 .. end of code."""
    crc = 0
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def messenger(key, code, data=None):
    """Spec A6 wire form: crc, flags, queue key, lengths, code, data."""
    flags = 0x0080 if data is not None else 0
    body = struct.pack(">H", flags) + key + struct.pack(">I", len(code))
    if data is not None:
        body += struct.pack(">I", len(data))
    body += code
    # The CRC covers bytes 2 .. end of code; padding and data follow.
    crc = struct.pack(">H", crc16(body))
    if data is not None:
        body += b"\0" * (-len(code) % 4) + data
    return crc + body


KEY = bytes(range(1, 9))
VALID = [
    messenger(KEY, b"1 2 +"),
    messenger(KEY, b"ABC", b"xyz"),
    messenger(b"\0" * 8, b"\"hi\" print"),
    messenger(KEY, b"{ 1 2 + } 3 { P } L [ 1 2 ] 'a 5 :", b""),
    messenger(KEY, b"_ 'x G _hid _ori _cod _dat", b"\x00\xff" * 20),
]


def near(m):
    """Near-valid forms of one messenger."""
    out = [m[:-1], m[:10], m[:2] + b"\x00\x81" + m[4:]]
    bad_crc = bytes([m[0] ^ 1]) + m[1:]
    out.append(bad_crc)
    longer = bytearray(m)
    longer[15] += 1  # code length one past the end
    out.append(bytes(longer))
    return out


def write(target, name, data):
    d = os.path.join(HERE, "seeds-" + target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main():
    for i, m in enumerate(VALID):
        write("fuzz_wire", "valid-%d" % i, m)
        for j, n in enumerate(near(m)):
            write("fuzz_wire", "near-%d-%d" % (i, j), n)
        # fuzz_link: first byte even = one datagram (bit 1: authenticated
        # flag), odd = a TCP stream cut into reads of data[1] bytes.
        write("fuzz_link", "udp-%d" % i, b"\x00" + m)
        write("fuzz_link", "tcp-%d" % i, b"\x01\x07" + m + m)
    write("fuzz_link", "tcp-all", b"\x01\x40" + b"".join(VALID))
    write("fuzz_link", "tcp-bytewise", b"\x01\x01" + VALID[1])
    write("fuzz_link", "udp-envelope-version", b"\x00\x01" + VALID[0][1:])
    confs = {
        "full": b"""# mdaemon.conf
[daemon]
listen = 127.0.0.1:7000
listen = [::1]:7000
state = /var/lib/mzero
economy = charged

[limits]
max_procs = 1000
max_steps = 1000000
heap_quota = 1048576

[neighbours]
b = 127.0.0.1:7001
c = [::1]:7002

[money]
epoch = 10

[exchange]
spread = 0.01
""",
        "empty": b"",
        "bad-section": b"[nosuch]\nx = 1\n",
        "bad-number": b"[limits]\nmax_procs = 12abc\n",
        "no-equals": b"[daemon]\nlisten\n",
        "long-line": b"[daemon]\nlisten = " + b"9" * 600 + b"\n",
    }
    for name, text in confs.items():
        write("fuzz_conf", name, text)


if __name__ == "__main__":
    main()
