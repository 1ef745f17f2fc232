#!/usr/bin/env python3
"""Pull the Go API type sources that gen-go-encoding-facts.py reads out of bare git
directories (no work tree needed) into a plain directory laid out like
kubernetes' staging/src:  OUT/k8s.io/<repo>/<path>.

Two ways to name the sources:

  # a kubernetes/kubernetes clone: files come from staging/src/k8s.io/...
  extract-k8s-go-sources.py --out /tmp/k8s-src --kubernetes /path/to/kubernetes.git --ref v1.33.4

  # the published staging repositories (k8s.io/api etc.), one --repo per repository
  extract-k8s-go-sources.py --out /tmp/k8s-src --ref v0.33.13 \
      --repo api=/work/.mirror/kubernetes+api/repo \
      --repo apimachinery=/work/.mirror/kubernetes+apimachinery/repo \
      --repo apiextensions-apiserver=/work/.mirror/kubernetes+apiextensions-apiserver/repo \
      --repo kube-aggregator=/work/.mirror/kubernetes+kube-aggregator/repo

Only hand-written, non-test .go files of the API packages are written; generated protobuf
and deepcopy code is skipped.  A SOURCE file records the ref and commits used.
"""

import argparse
import os
import subprocess
import sys

# Directories (relative to each staging repository) whose Go files describe API types.
# For k8s.io/api every <group>/<version> directory is taken.
WANTED = {
    "api": None,  # all <group>/<version>/ directories
    "apimachinery": [
        "pkg/apis/meta/v1",
        "pkg/runtime",
        "pkg/util/intstr",
        "pkg/api/resource",
        "pkg/types",
    ],
    "apiextensions-apiserver": ["pkg/apis/apiextensions/v1"],
    "kube-aggregator": ["pkg/apis/apiregistration/v1"],
}


def git(gitdir, *args, binary=False):
    out = subprocess.run(["git", "--git-dir", gitdir, *args], check=True,
                         stdout=subprocess.PIPE)
    return out.stdout if binary else out.stdout.decode()


def keep(path):
    base = os.path.basename(path)
    if not base.endswith(".go") or base.endswith("_test.go"):
        return False
    if base.startswith("zz_generated") or base == "generated.pb.go":
        return False
    return True


def wanted_files(gitdir, ref, prefix, repo):
    listing = git(gitdir, "ls-tree", "-r", "--name-only", ref, "--", prefix or ".")
    files = []
    for line in listing.splitlines():
        rel = line[len(prefix):] if prefix else line
        dirs = WANTED[repo]
        d = os.path.dirname(rel)
        if dirs is None:
            # <group>/<version>/file.go exactly two levels deep
            if d.count("/") != 1:
                continue
        elif d not in dirs:
            continue
        if keep(rel):
            files.append((line, rel))
    return files


def extract(gitdir, ref, prefix, repo, out):
    commit = git(gitdir, "rev-parse", ref + "^{commit}").strip()
    files = wanted_files(gitdir, commit, prefix, repo)
    # one cat-file process for all blobs
    req = "".join(f"{commit}:{p}\n" for p, _ in files).encode()
    proc = subprocess.run(["git", "--git-dir", gitdir, "cat-file", "--batch"], input=req,
                          stdout=subprocess.PIPE, check=True)
    data = proc.stdout
    pos = 0
    for _, rel in files:
        nl = data.index(b"\n", pos)
        header = data[pos:nl].split()
        size = int(header[2])
        body = data[nl + 1:nl + 1 + size]
        pos = nl + 1 + size + 1
        dest = os.path.join(out, "k8s.io", repo, rel)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with open(dest, "wb") as f:
            f.write(body)
    return commit, len(files)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--ref", required=True, help="tag, branch or commit to read")
    ap.add_argument("--kubernetes", help="git dir of a kubernetes/kubernetes clone")
    ap.add_argument("--repo", action="append", default=[], metavar="NAME=GITDIR",
                    help="git dir of a published staging repository")
    args = ap.parse_args()
    if not args.kubernetes and not args.repo:
        ap.error("give --kubernetes or at least one --repo")
    os.makedirs(args.out, exist_ok=True)
    lines = [f"ref {args.ref}"]
    if args.kubernetes:
        for repo in WANTED:
            commit, n = extract(args.kubernetes, args.ref, f"staging/src/k8s.io/{repo}/", repo, args.out)
            lines.append(f"k8s.io/{repo} kubernetes/kubernetes@{commit} files={n}")
    for spec in args.repo:
        name, _, gitdir = spec.partition("=")
        if name not in WANTED:
            sys.exit(f"unknown repository {name!r}; expected one of {sorted(WANTED)}")
        commit, n = extract(gitdir, args.ref, "", name, args.out)
        lines.append(f"k8s.io/{name} {commit} files={n}")
    with open(os.path.join(args.out, "SOURCE"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
