"""Make PyPI's Linux x86_64 torch wheel import on a machine without CUDA, without the ~2.3 GB of
nvidia-* wheels it depends on.

PyPI only has the CUDA build of torch for Linux x86_64 (the CPU-only build lives on
download.pytorch.org). Its libraries are linked against libcudart, libcublas, libcudnn, libnccl …,
so `import torch` fails without them, although the CPU kernels (libtorch_cpu.so) never call them.
This script writes tiny stub libraries with the right SONAMEs, symbol-version nodes and symbols
(every function returns an error; cudaGetDeviceCount reports no device) into
site-packages/nvidia/cu13/lib, a directory on the wheel's RPATH. torch then imports, reports
`torch.cuda.is_available() == False`, and runs on the CPU exactly as the CPU build would.

Used by scripts/bench-train-speed.sh: python torch_cuda_stubs.py <site-packages>
"""

import os
import re
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path


def readelf(*args):
    return subprocess.run(["readelf", "-W", *args], check=True, capture_output=True, text=True).stdout


def main(site):
    site = Path(site)
    torch_dir = site / "torch"
    libs = sorted((torch_dir / "lib").glob("*.so")) + sorted(torch_dir.glob("_C*.so"))
    present = {p.name for p in (torch_dir / "lib").iterdir()}
    system = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout

    needed = set()
    version_file = {}  # version node name -> library file that must define it
    undefined = {}  # (name, version or None) -> symbol type
    defined = set()
    for lib in libs:
        needed |= set(re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", readelf("-d", str(lib))))
        current = None
        for line in readelf("-V", str(lib)).splitlines():
            m = re.search(r"File: (\S+)", line)
            if m:
                current = m.group(1)
            m = re.search(r"Name: (\S+)\s+Flags", line)
            if m and current:
                version_file.setdefault(m.group(1), current)
        for line in readelf("--dyn-syms", str(lib)).splitlines():
            f = line.split()
            if len(f) < 8 or not f[0].rstrip(":").isdigit():
                continue
            typ, bind, ndx, name = f[3], f[4], f[6], f[7]
            if ndx != "UND":
                defined.add(name.split("@")[0])
            elif bind != "WEAK" and name:
                sym, _, ver = name.partition("@")
                undefined[(sym, ver or None)] = typ

    missing = sorted(
        n for n in needed if n not in present and not re.search(rf"\s{re.escape(n)}\s", system)
    )
    if not missing:
        print("torch's libraries are all present; no stubs needed")
        return
    prefixes = [
        ("nccl", "libnccl"), ("cusparseLt", "libcusparseLt"), ("cuFile", "libcufile"),
        ("cufile", "libcufile"), ("nvshmem", "libnvshmem"), ("cudnn", "libcudnn"),
        ("cublasLt", "libcublasLt"), ("cublas", "libcublas"), ("cusparse", "libcusparse"),
        ("cufft", "libcufft"), ("nvrtc", "libnvrtc"), ("cupti", "libcupti"), ("cuda", "libcudart"),
    ]
    per_lib = defaultdict(dict)  # soname -> {symbol: (version, type)}
    for (sym, ver), typ in undefined.items():
        if ver is not None:
            owner = version_file.get(ver)
            if owner in missing:
                per_lib[owner][sym] = (ver, typ)
            continue
        if sym in defined:
            continue
        for prefix, stem in prefixes:
            if sym.startswith(prefix):
                owner = next((m for m in missing if m.startswith(stem + ".")), None)
                if owner:
                    per_lib[owner][sym] = (None, typ)
                break

    out = site / "nvidia" / "cu13" / "lib"
    out.mkdir(parents=True, exist_ok=True)
    special = {
        "cudaGetDeviceCount": "int cudaGetDeviceCount(int *n) { if (n) *n = 0; return 100; }",
        "cudaGetErrorString": 'const char *cudaGetErrorString(int e) { (void)e; return "no CUDA (stub library)"; }',
        "cudaGetErrorName": 'const char *cudaGetErrorName(int e) { (void)e; return "cudaErrorNoDevice"; }',
        "cudaDriverGetVersion": "int cudaDriverGetVersion(int *v) { if (v) *v = 0; return 0; }",
        "cudaGetLastError": "int cudaGetLastError(void) { return 0; }",
        "cudaPeekAtLastError": "int cudaPeekAtLastError(void) { return 0; }",
    }
    with tempfile.TemporaryDirectory() as tmp:
        for soname in missing:
            syms = per_lib.get(soname, {})
            versions = sorted({v for v, _ in syms.values() if v})
            src, vers = [], []
            for sym, (ver, typ) in sorted(syms.items()):
                if sym in special:
                    src.append(special[sym])
                elif typ == "OBJECT":
                    src.append(f"char {sym}[4096] __attribute__((aligned(64)));")
                else:
                    src.append(f"int {sym}(void) {{ return 100; }}")
            unversioned = [s for s, (v, _) in syms.items() if v is None]
            for ver in versions:
                names = [s for s, (v, _) in syms.items() if v == ver]
                vers.append(f"{ver} {{ global: {'; '.join(names)}; }};")
            if unversioned and not versions:
                vers = []
            elif unversioned:
                # Unversioned references bind to any definition; give them the first node.
                vers[0] = vers[0].replace("global: ", "global: " + "; ".join(unversioned) + "; ", 1)
            c = Path(tmp, soname + ".c")
            c.write_text("/* stub: no CUDA */\n" + "\n".join(src) + "\n")
            cmd = ["cc", "-shared", "-fPIC", "-O1", "-o", str(out / soname), str(c), f"-Wl,-soname,{soname}"]
            if vers:
                m = Path(tmp, soname + ".map")
                m.write_text("\n".join(vers) + "\n")
                cmd.append(f"-Wl,--version-script,{m}")
            subprocess.run(cmd, check=True)
            print(f"stub {soname}: {len(syms)} symbols, versions {versions or '-'}")
    (out / "README-STUBS.txt").write_text(
        "Stub libraries written by mixlab bench/torch_cuda_stubs.py so that PyPI's CUDA build of torch\n"
        "imports without CUDA. They contain no CUDA code; torch.cuda.is_available() is False.\n"
    )


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else next(p for p in sys.path if p.endswith("site-packages")))
