#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-only
"""check-policy.py POLICY [--labels EXPECTED]: assert, with setools, who
holds what on the xenvf labels of a compiled Xen policy (docs/xsm.md).

Every assertion compares sets: the types that hold a permission (any allow
rule, conditional or not, with attributes expanded on both sides) must be
exactly the expected types, so a widening anywhere fails. One line per
assertion ("ok ID" / "FAIL ID: ..."), then "check-policy: N passed, M
failed"; exit 1 on any failure.

--labels EXPECTED: the policy must carry exactly the pcidevicecon,
iomemcon and pirqcon lines of EXPECTED (a fragment from xenvf-flask-labels).
"""

import re
import sys

import setools

TCB = frozenset({"dom0_t"})  # xenvf_tcb_t and xenvf_toolstack_t alias it
QUARANTINE = frozenset({"domio_t"})  # xl pci-assignable-add: DOMID_IO
CLEANUP = frozenset({"remove_irq", "remove_ioport", "remove_iomem"})
DEV_USE = ("use_iommu", "use_iommu_nointremap", "use_noiommu")

# label -> the one domain type besides the TCB that may use it
DEVICES = {
    "xenvf_pf_t": None,  # PFs driven in dom0
    "xenvf_drv_pf_t": "xenvf_drv_t",  # PFs of the driver domain
    "xenvf_vf_t": None,  # free VFs
    "xenvf_guest_vf_t": "xenvf_guest_t",  # VFs held by the guest type
}
PFS = {"xenvf_pf_t", "xenvf_drv_pf_t"}
VFS = {"xenvf_vf_t", "xenvf_guest_vf_t"}
MMCFG = "xenvf_mmcfg_t"


def types_of(obj):
    """The types behind a rule's source or target (attributes expanded)."""
    return {str(t) for t in obj.expand()}


def holders(pol, target, perms, tclass="resource"):
    """Types holding any of perms on target."""
    q = setools.TERuleQuery(pol, ruletype=["allow"], tclass=[tclass],
                            target=target, perms=set(perms))
    out = set()
    for r in q.results():
        out |= types_of(r.source)
    return out


def all_perms(pol, tclass):
    return {str(p) for p in pol.lookup_class(tclass).perms}


def held_by(pol, source, tclass="resource"):
    """(target type, perm) pairs the source holds in tclass."""
    q = setools.TERuleQuery(pol, ruletype=["allow"], tclass=[tclass],
                            source=source)
    out = set()
    for r in q.results():
        for t in types_of(r.target):
            out |= {(t, str(p)) for p in r.perms}
    return out


def attr_members(pol, name):
    try:
        return {str(t) for t in pol.lookup_typeattr(name).expand()}
    except setools.exception.InvalidType:
        return {"<no attribute %s>" % name}


def fmt(s):
    return "{" + ", ".join(sorted(
        "%s:%s" % x if isinstance(x, tuple) else str(x) for x in s)) + "}"


class Checker:
    def __init__(self, pol):
        self.pol = pol
        self.results = []  # (id, ok, detail)

    def eq(self, aid, got, want):
        got, want = set(got), set(want)
        ok = got == want
        detail = "" if ok else "expected %s, got %s" % (fmt(want), fmt(got))
        self.results.append((aid, ok, detail))

    def holders_eq(self, aid, target, perms, want, tclass="resource"):
        try:
            got = holders(self.pol, target, perms, tclass)
        except (setools.exception.InvalidType,
                setools.exception.InvalidClass) as e:
            self.results.append((aid, False, "query failed: %s" % e))
            return
        self.eq(aid, got, want)


def assertions(c):
    pol = c.pol
    for dev, owner in DEVICES.items():
        # Xen's quarantine (domio_t) holds every PF and VF label's use_iommu
        users = TCB | QUARANTINE | ({owner} if owner else set())
        c.holders_eq("setup:" + dev, dev, ["setup"], TCB)
        c.holders_eq("plug:" + dev, dev, ["plug"], TCB)
        c.holders_eq("unplug:" + dev, dev, ["unplug"], TCB)
        c.holders_eq("use_iommu:" + dev, dev, ["use_iommu"], users)
        c.holders_eq("use-weak:" + dev, dev,
                     ["use", "use_iommu_nointremap", "use_noiommu"], TCB)
        c.holders_eq("assign:" + dev, dev,
                     ["stat_device", "add_device", "remove_device",
                      "add_irq", "add_iomem", "add_ioport"], TCB)
        c.holders_eq("bind_irq:" + dev, dev, ["bind_irq"], TCB, "hvm")
        c.holders_eq("any:" + dev, dev,
                     all_perms(pol, "resource") - CLEANUP, users)

    # Unlabelled devices and I/O memory (Xen's defaults) stay the TCB's.
    for t in ("device_t", "iomem_t"):
        c.holders_eq("unlabelled:" + t, t,
                     all_perms(pol, "resource") - CLEANUP, TCB)

    c.holders_eq("mmcfg-use:" + MMCFG, MMCFG, DEV_USE, TCB)
    c.holders_eq("mmcfg-map:" + MMCFG, MMCFG, ["add_iomem"], TCB)
    c.holders_eq("mmcfg-any:" + MMCFG, MMCFG,
                 all_perms(pol, "resource") - CLEANUP, TCB)

    # A driver domain uses its PFs and nothing else; a guest its VFs.
    for dom, dev in (("xenvf_drv_t", "xenvf_drv_pf_t"),
                     ("xenvf_guest_t", "xenvf_guest_vf_t")):
        c.eq("holds:" + dom, held_by(pol, dom), {(dev, "use_iommu")})

    # Only the toolstack quarantines and releases; the quarantine holds
    # use_iommu on PF and VF labels, nothing else.
    c.holders_eq("quarantine:domio_t", "domio_t", ["add", "remove"], TCB)
    c.eq("holds:domio_t", held_by(pol, "domio_t"),
         {(dev, "use_iommu") for dev in DEVICES})

    # Relabelling and policy loading stay with the TCB.
    c.holders_eq("relabel", "security_t", ["add_ocontext", "del_ocontext"],
                 TCB, "security")
    c.holders_eq("load-policy", "security_t", ["load_policy", "setenforce"],
                 TCB, "security")

    # The labels are the ones above: a new PF or VF type is a decision.
    c.eq("types:xenvf_device", attr_members(pol, "xenvf_device"),
         set(DEVICES))
    c.eq("types:xenvf_pf_device", attr_members(pol, "xenvf_pf_device"), PFS)
    c.eq("types:xenvf_vf_device", attr_members(pol, "xenvf_vf_device"), VFS)
    try:
        aliases = {str(a) for a in pol.lookup_type("dom0_t").aliases()}
    except setools.exception.InvalidType:
        aliases = set()
    c.eq("tcb-is-dom0", aliases & {"xenvf_tcb_t", "xenvf_toolstack_t"},
         {"xenvf_tcb_t", "xenvf_toolstack_t"})


def parse_labels(path):
    """pcidevicecon/iomemcon/pirqcon lines of a fragment, normalised."""
    dev, mem, pirq = set(), set(), set()
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0].split()
            if not line:
                continue
            ctx = line[2].split(":")[2]
            if line[0] == "pcidevicecon":
                dev.add((int(line[1], 0), ctx))
            elif line[0] == "iomemcon":
                lo, _, hi = line[1].partition("-")
                mem.add((int(lo, 0), int(hi or lo, 0), ctx))
            elif line[0] == "pirqcon":
                pirq.add((int(line[1], 0), ctx))
    return dev, mem, pirq


def label_assertions(c, expected):
    want_dev, want_mem, want_pirq = parse_labels(expected)
    got_dev = {(int(d.device), str(d.context.type_))
               for d in c.pol.pcidevicecons()}
    got_mem = {(int(m.addr.low), int(m.addr.high), str(m.context.type_))
               for m in c.pol.iomemcons()}
    c.eq("labels:pcidevicecon", {"%#x %s" % x for x in got_dev},
         {"%#x %s" % x for x in want_dev})
    c.eq("labels:iomemcon", {"%#x-%#x %s" % x for x in got_mem},
         {"%#x-%#x %s" % x for x in want_mem})
    got_pirq = {(int(p.irq), str(p.context.type_)) for p in c.pol.pirqcons()}
    c.eq("labels:pirqcon", {"%d %s" % x for x in got_pirq},
         {"%d %s" % x for x in want_pirq})


def main(argv):
    args = argv[1:]
    labels = None
    if "--labels" in args:
        i = args.index("--labels")
        labels = args[i + 1]
        del args[i:i + 2]
    if len(args) != 1:
        sys.stderr.write(__doc__)
        return 2
    c = Checker(setools.SELinuxPolicy(args[0]))
    if labels:
        label_assertions(c, labels)
    else:
        assertions(c)
    failed = 0
    for aid, ok, detail in c.results:
        if ok:
            print("ok   " + aid)
        else:
            failed += 1
            print("FAIL %s -- %s" % (aid, detail))
    print("check-policy: %d passed, %d failed"
          % (len(c.results) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
