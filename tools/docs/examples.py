#!/usr/bin/python3
"""Regenerates the command examples of the docs from the commands themselves.

    /usr/bin/python3 tools/docs/examples.py            # every example block of docs/*.md
    /usr/bin/python3 tools/docs/examples.py demo info  # only these

An example block is

    <!-- example:NAME -->
    ```
    $ rerank COMMAND ...        (continued on further lines ending in a backslash)
    ```
    <!-- /example:NAME -->

The command runs from the repository root through bash, with `rerank` standing for the Release build of the CLI
(`dotnet src/RerankSharp.Cli/bin/Release/net10.0/rerank.dll`, built first), and its standard output replaces whatever
followed the command in the fence; the repository's own path is cut from the output, so a path reads as from the
root. tests/RerankSharp.Cli.Tests/DocExamplesTests.cs runs every block the same way and fails when the docs no longer
match what the command prints (timings masked), so an example cannot drift from the code.
"""

import os
import re
import subprocess
import sys

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BLOCK = re.compile(r"(<!-- example:(?P<name>[\w-]+) -->\n```\n)(?P<body>.*?)(```\n<!-- /example:(?P=name) -->)", re.S)


def command_of(body: str) -> str:
    lines, command = body.splitlines(), []
    for line in lines:
        command.append(line[2:] if not command else line)
        if not line.endswith("\\"):
            break
    if not command or not lines[0].startswith("$ "):
        raise SystemExit(f"an example block must start with '$ command', not {lines[:1]}")
    return "\n".join(command)


def run(command: str) -> str:
    dll = os.path.join(REPO, "src/RerankSharp.Cli/bin/Release/net10.0/rerank.dll")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RERANK_") and not k.startswith("HF_")}
    env["HF_HUB_OFFLINE"] = "1"
    out = subprocess.run(["bash", "-c", f'rerank() {{ dotnet "{dll}" "$@"; }}\n{command}'], cwd=REPO, env=env,
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{command!r} exited {out.returncode}:\n{out.stderr}")
    return out.stdout.replace(REPO + "/", "")


def main() -> None:
    wanted = set(sys.argv[1:])
    subprocess.run(["dotnet", "build", "-c", "Release", "-v", "quiet", "-nologo", os.path.join(REPO, "src/RerankSharp.Cli")],
                   check=True, stdout=subprocess.DEVNULL)
    docs = os.path.join(REPO, "docs")
    done = set()
    for name in sorted(os.listdir(docs)):
        if not name.endswith(".md"):
            continue
        path = os.path.join(docs, name)
        text = open(path, encoding="utf-8").read()

        def replace(m: re.Match) -> str:
            if wanted and m["name"] not in wanted:
                return m[0]
            command = command_of(m["body"])
            shown = "\n".join(("$ " if i == 0 else "") + line for i, line in enumerate(command.splitlines()))
            print(f"{name}: {m['name']}", file=sys.stderr)
            done.add(m["name"])
            return f"{m[1]}{shown}\n{run(command)}{m[4]}"

        updated = BLOCK.sub(replace, text)
        if updated != text:
            open(path, "w", encoding="utf-8").write(updated)
    missing = wanted - done
    if missing:
        raise SystemExit(f"no example block named {', '.join(sorted(missing))}")


if __name__ == "__main__":
    main()
