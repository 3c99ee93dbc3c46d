"""Runs notebook cells: exec the cell, evaluate its last expression like Jupyter, and report
{ok, stdout, stderr, result, error} as JSON. The namespace persists between cells."""
import ast
import json
import sys
import traceback

NAMESPACE = {"__name__": "__main__"}


def _compile(code):
    tree = ast.parse(code, "<cell>", "exec")
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body.pop().value)
    return compile(tree, "<cell>", "exec"), (compile(last, "<cell>", "eval") if last else None)


def _format_exception(e):
    tb = e.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next  # hide the runner's own frames
    return "".join(traceback.format_exception(type(e), e, tb))


def run_cell(code, inputs=None):
    result, error = None, None
    NAMESPACE["inputs"] = inputs if inputs is not None else {}
    try:
        body, last = _compile(code)
        exec(body, NAMESPACE)
        if last is not None:
            value = eval(last, NAMESPACE)
            if value is not None:
                NAMESPACE["_"] = value
                result = repr(value)
    except BaseException as e:  # noqa: BLE001 - a cell may raise anything, even SystemExit
        error = _format_exception(e)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    return json.dumps({"ok": error is None, "stdout": "", "stderr": "", "result": result,
                       "error": error})
