"""How our modules depend on one another, read from the source: `patients` (what the EHR knows) imports
nothing of ours, no modules import one another round a circle, no import of ours hides inside a function
(but `AppConfig.ready`, which runs once every module is loaded), and no application module grows past
about 400 lines.

Every `.py` file of our apps (migrations excluded) is parsed with `ast`; nothing is imported. An import
of a package (`from registration import services`, `from registration.selectors import x`) is an edge
to its `__init__`, which has edges to the submodules it imports: depending on a package is depending on
everything its `__init__` loads. `from package import name` goes to the submodule when `name` is one,
and to the package's `__init__` as well when the importer is outside that package, since Python runs it
first.
A submodule importing its own package's `__init__` is therefore a circle, as it is when Python runs it.
"""

import ast
from collections import deque
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUR_APPS = ("patients", "registration", "accounts", "ratelimits", "portalreg")
EHR_APP = "patients"
MAX_LINES = 400


@dataclass(frozen=True)
class Import:
    importer: str  # the module that imports, dotted
    target: str  # the module of ours it loads, dotted
    file: str  # the importer's file, relative to the root
    line: int
    function: str  # "" at module level (class bodies too), else the enclosing function's qualified name
    loaded_first: bool = False  # a package whose `__init__` Python runs before the module named

    def __str__(self) -> str:
        inside = f" (in {self.function})" if self.function else ""
        return f"{self.file}:{self.line}{inside} imports {self.target}"


def module_files(root: Path, apps=OUR_APPS) -> dict[str, Path]:
    """Return each module of our apps by dotted name (a package by its own name, for its `__init__.py`)."""
    found = {}
    for app in apps:
        for path in sorted((root / app).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if "migrations" not in parts:
                found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports_of(name: str, path: Path, modules: dict[str, Path], root: Path) -> list[Import]:
    """Return every import of one of `modules` in the file, resolved to the module it loads."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    file = str(path.relative_to(root))
    found = []

    def add(target: str, node: ast.stmt, function: str) -> None:
        while target and target not in modules:  # `import registration.models.audit.X`: the module
            target = target.rpartition(".")[0]
        if target:
            found.append(Import(name, target, file, node.lineno, function))
        # Python runs a package's `__init__` before any module in it: importing `registration.services.x`
        # from outside `registration.services` loads that `__init__` too (from inside, it is loading).
        parts = target.split(".")
        for length in range(1, len(parts)):
            package_name = ".".join(parts[:length])
            if package_name in modules and not (name + ".").startswith(package_name + "."):
                found.append(Import(name, package_name, file, node.lineno, function, loaded_first=True))

    def visit(node: ast.AST, qualname: tuple[str, ...], in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            function = ".".join(qualname) if in_function else ""
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                visit(child, (*qualname, child.name), True)
            elif isinstance(child, ast.Lambda):
                visit(child, (*qualname, "<lambda>"), True)
            elif isinstance(child, ast.ClassDef):
                visit(child, (*qualname, child.name), in_function)
            elif isinstance(child, ast.Import):
                for alias in child.names:
                    add(alias.name, child, function)
            elif isinstance(child, ast.ImportFrom):
                base = _absolute(child, package)
                for alias in child.names:
                    submodule = f"{base}.{alias.name}"
                    add(submodule if submodule in modules else base, child, function)
            else:
                visit(child, qualname, in_function)

    visit(ast.parse(path.read_text(encoding="utf-8"), filename=file), (), False)
    return found


def _absolute(node: ast.ImportFrom, package: str) -> str:
    """Return the module a `from ... import` names, a relative one (`from .x import y`) made absolute."""
    if not node.level:
        return node.module or ""
    parts = package.split(".")
    parts = parts[: len(parts) - node.level + 1]
    return ".".join([*parts, *([node.module] if node.module else [])])


def all_imports(root: Path, apps=OUR_APPS) -> list[Import]:
    modules = module_files(root, apps)
    return [found for name, path in modules.items() for found in imports_of(name, path, modules, root)]


@cache
def our_imports() -> tuple[Import, ...]:
    return tuple(all_imports(ROOT))


def cycles(imports) -> list[list[Import]]:
    """Return one circle of module-level imports for each group of modules that import one another
    (Tarjan's strongly connected components), each as the imports round it, shortest first found."""
    edges: dict[str, dict[str, Import]] = {}
    for found in imports:
        if not found.function:
            edges.setdefault(found.importer, {}).setdefault(found.target, found)
            edges.setdefault(found.target, {})
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def connect(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in edges[module]:
            if target not in index:
                connect(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            group = []
            while not group or group[-1] != module:
                group.append(stack.pop())
                on_stack.discard(group[-1])
            if len(group) > 1 or module in edges[module]:
                groups.append(sorted(group))

    for module in sorted(edges):
        if module not in index:
            connect(module)
    return [_circle(group[0], set(group), edges) for group in groups]


def _circle(start: str, group: set[str], edges: dict[str, dict[str, Import]]) -> list[Import]:
    """Return the shortest circle of imports from `start` back to it, within its group."""
    came_from: dict[str, Import] = {}
    queue = deque([start])
    while queue:
        module = queue.popleft()
        for target, found in sorted(edges[module].items()):
            if target not in group or target in came_from:
                continue
            came_from[target] = found
            if target == start:
                circle, at = [], start
                while True:
                    circle.append(came_from[at])
                    at = came_from[at].importer
                    if at == start:
                        return circle[::-1]
            queue.append(target)
    raise AssertionError(f"{start} is in a group of modules importing one another, but on no circle")


def describe(circle: list[Import]) -> str:
    modules = " -> ".join([circle[0].importer, *(found.target for found in circle)])
    return modules + "".join(f"\n    {found}" for found in circle)


def hidden_imports(imports) -> list[Import]:
    """Return the imports of our modules made inside a function, but `ready` of an app's `AppConfig`."""
    return [
        found
        for found in imports
        if found.function
        and not found.loaded_first
        and not (
            found.importer.endswith(".apps")
            and found.function.count(".") == 1
            and found.function.endswith(".ready")
        )
    ]


def wrong_way(imports) -> list[Import]:
    """Return the imports by the EHR app (`patients`) of any other app of ours."""
    return [
        found
        for found in imports
        if not found.loaded_first
        and found.importer.partition(".")[0] == EHR_APP
        and found.target.partition(".")[0] != EHR_APP
    ]


def long_modules(root: Path, apps=OUR_APPS) -> list[tuple[str, int]]:
    lines = {
        str(path.relative_to(root)): len(path.read_text(encoding="utf-8").splitlines())
        for path in module_files(root, apps).values()
    }
    return sorted(((file, n) for file, n in lines.items() if n > MAX_LINES), key=lambda item: -item[1])


# ---------------------------------------------------------------------------------------- our code


def test_patients_imports_nothing_of_ours():
    wrong = wrong_way(our_imports())
    assert not wrong, "patients/ (what the EHR knows) must import nothing of ours:\n" + "\n".join(
        f"  {found}" for found in wrong
    )


def test_no_import_cycles_between_our_modules():
    found = cycles(our_imports())
    assert not found, f"{len(found)} circle(s) of imports:\n" + "\n".join(f"  {describe(c)}" for c in found)


def test_no_function_level_imports_of_our_modules_outside_app_ready():
    hidden = hidden_imports(our_imports())
    assert not hidden, (
        "imports of our modules inside functions (only AppConfig.ready may: it runs once all are loaded):\n"
        + "\n".join(f"  {found}" for found in hidden)
    )


def test_no_application_module_is_over_400_lines():
    long = long_modules(ROOT)
    assert not long, f"modules over {MAX_LINES} lines (migrations aside):\n" + "\n".join(
        f"  {file}: {n} lines" for file, n in long
    )


# Which layers may not import which: a read never depends on a state change or a page, and nothing
# but a URL list depends on a page (a template tag importing a view is how a circle started).
READS = ("registration.models", "registration.selectors", "registration.pin_codes", "patients")
WRITES = (
    "registration.services",
    "registration.messaging",
    "registration.ehr_import",
    "registration.register_all",
)
PAGES = ("registration.staff.views", "registration.portal.views", "registration.messaging.provider_hooks")


def _within(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == package or module.startswith(package + ".") for package in packages)


def layer_breaks(imports) -> list[Import]:
    """Return the imports of a state change or a page by a read, and of a page by anything but a URL
    list (a page's shared parts live in a module that is not a page: forms, rows, form tokens)."""
    broken = []
    for found in imports:
        if found.loaded_first:
            continue
        if (_within(found.importer, READS) and _within(found.target, WRITES + PAGES)) or (
            _within(found.target, PAGES)
            and not found.importer.endswith(".urls")
            and not found.target.startswith(found.importer + ".")  # a package's own modules
        ):
            broken.append(found)
    return broken


def test_reads_import_no_state_changes_and_only_url_lists_import_pages():
    broken = layer_breaks(our_imports())
    assert not broken, "imports across layers:\n" + "\n".join(f"  {found}" for found in broken)


def test_the_graph_sees_every_app_and_the_known_edges():
    """The checks above pass on nothing if the parser finds nothing: it finds what we know is there."""
    found = {(i.importer, i.target) for i in our_imports()}
    modules = module_files(ROOT)
    assert {name.partition(".")[0] for name in modules} == set(OUR_APPS)
    assert ("registration.ehr_import.importing", "patients.importing") in found
    # A package's re-export, and an import in AppConfig.ready (allowed, but seen).
    assert any(
        importer == "registration.selectors" and target.startswith("registration.selectors.")
        for importer, target in found
    )
    # Importing a module of a package from outside it loads the package's `__init__` first.
    assert ("registration.messaging.tasks", "registration.services") in found
    assert any(i.importer == "registration.apps" and i.function.endswith(".ready") for i in our_imports())


# ---------------------------------------------------------------------------------------- the checks


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for app in OUR_APPS:
        (root / app).mkdir(exist_ok=True)
        (root / app / "__init__.py").touch()
    return root


def test_the_checks_report_a_circle_a_hidden_import_and_patients_importing_registration(tmp_path):
    root = _tree(
        tmp_path,
        {
            "patients/models.py": "from registration.models import AuditEvent\n",
            "registration/models.py": "import registration.pins\n",
            "registration/pins.py": "from registration.models import Pin\n\n\ndef later():\n"
            "    from patients import models\n",
            "registration/apps.py": "from django.apps import AppConfig\n\n\nclass Config(AppConfig):\n"
            "    def ready(self):\n        from registration import pins  # noqa: F401\n",
        },
    )
    imports = all_imports(root)

    [wrong] = wrong_way(imports)
    assert str(wrong) == "patients/models.py:1 imports registration.models"
    [circle] = cycles(imports)
    assert (
        describe(circle).splitlines()[0] == "registration.models -> registration.pins -> registration.models"
    )
    [hidden] = hidden_imports(imports)
    assert str(hidden) == "registration/pins.py:5 (in later) imports patients.models"


def test_a_submodule_importing_its_own_package_is_a_circle_but_a_re_export_is_not(tmp_path):
    package = {
        "registration/services/__init__.py": "from registration.services.pins import pin_issue\n"
        "from .accounts import account_make\n",
        "registration/services/errors.py": "class RegistrationError(Exception): ...\n",
        "registration/services/pins.py": "from registration.services import errors\n"
        "from registration.services.errors import RegistrationError\n",
        "registration/services/accounts.py": "from . import errors\n",
        "registration/staff.py": "from registration import services\n"
        "from registration.services import pin_issue\n",
    }
    assert cycles(all_imports(_tree(tmp_path / "fine", package))) == []

    package["registration/services/accounts.py"] = "from registration.services import pin_issue\n"
    [circle] = cycles(all_imports(_tree(tmp_path / "circle", package)))
    assert describe(circle).splitlines()[0] == (
        "registration.services -> registration.services.accounts -> registration.services"
    )


def test_a_module_over_400_lines_is_reported(tmp_path):
    root = _tree(tmp_path, {"ratelimits/windows.py": "x = 1\n" * 401, "accounts/short.py": "x = 1\n" * 400})
    assert long_modules(root) == [("ratelimits/windows.py", 401)]


def test_a_read_importing_a_service_and_a_template_tag_importing_a_view_are_reported(tmp_path):
    root = _tree(
        tmp_path,
        {
            "registration/selectors/patients.py": "from registration.services.pins import pin_issue\n",
            "registration/templatetags/staff_forms.py": "from registration.staff.views.pin_slips import x\n",
            "registration/staff/views/register_all.py": "from registration.staff.views.dashboard import y\n",
            "registration/staff/urls.py": "from registration.staff.views import dashboard, pin_slips\n",
            "registration/services/pins.py": "",
            "registration/staff/views/pin_slips.py": "",
            "registration/staff/views/dashboard.py": "",
        },
    )
    broken = sorted(str(found) for found in layer_breaks(all_imports(root)))
    assert broken == [
        "registration/selectors/patients.py:1 imports registration.services.pins",
        "registration/staff/views/register_all.py:1 imports registration.staff.views.dashboard",
        "registration/templatetags/staff_forms.py:1 imports registration.staff.views.pin_slips",
    ]
