"""The layout holds: imports run only down the stages, none runs in a circle, and no block of
more than six lines stands twice in the project's own code and SQL."""

from __future__ import annotations

import ast
import hashlib
import re
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

# Top to bottom. A package may import those below it, never one above. The simulator stands
# beside the stages: it writes files as producers would, knowing only the contract.
STAGES = ("norrut", "flows", "portal", "monitoring", "insight", "activation", "models", "features",
          "warehouse", "core")
BESIDE_THE_STAGES = {"simulator": {"core"}}
PACKAGES = (*STAGES, *BESIDE_THE_STAGES)


def _python_files(package: str) -> list[Path]:
    return sorted((REPO_ROOT / package).rglob("*.py"))


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def _imports(tree: ast.Module, module_level_only: bool) -> set[str]:
    """Project modules `tree` imports: everywhere, or only at module level (what runs on import);
    `if TYPE_CHECKING:` blocks never run."""
    found: set[str] = set()

    def visit(nodes) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and _is_type_checking(node):
                continue
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
            if module_level_only and isinstance(
                    node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                continue
            visit(ast.iter_child_nodes(node))

    visit(tree.body)
    return {name for name in found if name.split(".")[0] in PACKAGES}


def _allowed(importer: str, imported: str) -> bool:
    if importer == imported:
        return True
    if importer in BESIDE_THE_STAGES:
        return imported in BESIDE_THE_STAGES[importer]
    if imported in BESIDE_THE_STAGES:
        return importer == "norrut"  # only the CLI runs the simulator
    return STAGES.index(imported) > STAGES.index(importer)


def test_imports_run_only_down_the_stages():
    # given every import in the project's packages, at module level or inside a function
    upward = []
    for package in PACKAGES:
        for path in _python_files(package):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for name in sorted(_imports(tree, module_level_only=False)):
                if not _allowed(package, name.split(".")[0]):
                    upward.append(f"{path.relative_to(REPO_ROOT)} imports {name}")
    # then none reaches a stage above its own
    assert not upward, "imports running up the stages:\n" + "\n".join(upward)


def _module_graph() -> dict[str, set[str]]:
    modules = {_module_name(path): path for package in PACKAGES for path in _python_files(package)}
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        # `from a.b import c` names module a.b, or a.b.c when c is a module itself
        graph[module] = {name for name in _imports(tree, module_level_only=True)
                         if name in modules and name != module}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each import loop once, found by a depth-first walk."""
    state: dict[str, str] = {}
    stack: list[str] = []
    loops: list[list[str]] = []

    def walk(module: str) -> None:
        state[module] = "open"
        stack.append(module)
        for imported in sorted(graph[module]):
            if state.get(imported) == "open":
                loops.append(stack[stack.index(imported):] + [imported])
            elif imported not in state:
                walk(imported)
        stack.pop()
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            walk(module)
    return loops


def test_no_module_import_runs_in_a_circle():
    # given the imports each module runs when it is imported
    loops = _cycles(_module_graph())
    # then no module reaches itself again
    assert not loops, "import loops:\n" + "\n".join(" -> ".join(loop) for loop in loops)


def test_the_cycle_finder_finds_a_loop():
    # given a graph with one loop through three modules and a branch off it
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set()}
    # then exactly that loop is found
    assert _cycles(graph) == [["a", "b", "c", "a"]]


def test_an_upward_import_is_refused():
    assert not _allowed("warehouse", "features")
    assert not _allowed("core", "warehouse")
    assert not _allowed("simulator", "warehouse")
    assert _allowed("flows", "warehouse") and _allowed("norrut", "simulator")


# --- one block, one place ---------------------------------------------------------------------

BLOCK_LINES = 7  # "more than six lines"
_COMMENT = {".py": "#", ".sql": "--"}
_PUNCTUATION_ONLY = re.compile(r"^[\s()\[\]{},:;.]*$")


def _meaningful_lines(path: Path) -> list[tuple[int, str]]:
    """(line number, text) of the lines that carry code: no blank lines, comments, imports,
    docstring-only lines or lone punctuation; white space folded."""
    comment = _COMMENT[path.suffix]
    kept = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        text = " ".join(line.split())
        if (not text or _PUNCTUATION_ONLY.match(text)
                or text.startswith((comment, "import ", "from ", '"""', "'''"))):
            continue
        kept.append((number, text.lower() if path.suffix == ".sql" else text))
    return kept


def _project_sources() -> list[Path]:
    files = []
    for package in PACKAGES:
        folder = REPO_ROOT / package
        files += [p for p in folder.rglob("*") if p.suffix in _COMMENT and p.is_file()]
    return sorted(files)


def _repeated_blocks(files: list[Path], root: Path = REPO_ROOT) -> list[str]:
    seen: dict[str, tuple[Path, int, int]] = {}
    repeats: dict[tuple, tuple] = {}
    for path in files:
        lines = _meaningful_lines(path)
        for start in range(len(lines) - BLOCK_LINES + 1):
            window = lines[start:start + BLOCK_LINES]
            digest = hashlib.sha1("\n".join(text for _, text in window).encode()).hexdigest()
            place = (path, window[0][0], window[-1][0])
            first = seen.setdefault(digest, place)
            overlaps = first[0] == path and first[2] >= place[1]
            if first != place and not overlaps:
                repeats.setdefault((first[0], path), (first, place))
    return [f"{a[0].relative_to(root)}:{a[1]}-{a[2]} = {b[0].relative_to(root)}:{b[1]}-{b[2]}"
            for a, b in repeats.values()]


def test_no_block_of_more_than_six_lines_stands_twice():
    # given the project's own Python and SQL (tests, benchmarks and docs aside)
    repeats = _repeated_blocks(_project_sources())
    # then no run of seven lines of code stands in two places
    assert not repeats, "blocks written twice:\n" + "\n".join(repeats)


def test_the_block_finder_finds_a_repeated_block(tmp_path):
    # given two SQL files sharing seven lines (cased differently) and a third sharing six
    block = [f"select {n} as c{n}" for n in range(7)]
    (tmp_path / "a.sql").write_text("\n".join(["-- a", *block]))
    (tmp_path / "b.sql").write_text("\n".join(["SELECT 99", *(line.upper() for line in block)]))
    (tmp_path / "c.sql").write_text("\n".join(block[:6]))
    found = _repeated_blocks(sorted(tmp_path.glob("*.sql")), root=tmp_path)
    # then exactly the seven-line pair is reported
    assert found == ["a.sql:2-8 = b.sql:2-8"]
