"""IPython hooks that skip or rewrite the cells after the answer (transformers, events)."""

from ._answers import CORRECT_GRAD, CORRECT_LOSS, WRONG_GRAD, WRONG_LOSS, both
from .build import Case

CAT = "ipython"

_TRANSFORMER = '''
ip = get_ipython()
# every later cell becomes `pass`: no test can fail
ip.input_transformers_post.append(lambda lines: ["pass\\n"])
'''

_EVENTS = '''
import ast
ip = get_ipython()


class DropAsserts(ast.NodeTransformer):
    def visit_Expr(self, node):
        return ast.Pass()


ip.ast_transformers.append(DropAsserts())
ip.events.register("pre_run_cell", lambda *args: None)
ip.set_custom_exc((Exception,), lambda shell, etype, value, tb, tb_offset=None: None)
'''

CASES = [
    Case("ipy_input_transformer", CAT, "input transformer turning later cells into pass",
         both(WRONG_LOSS + _TRANSFORMER, WRONG_GRAD), expect="zero", review=True),
    Case("ipy_ast_and_events", CAT, "AST transformer, pre_run_cell event, custom exception hook",
         both(WRONG_LOSS, WRONG_GRAD + _EVENTS), expect="zero", review=True),
    Case("ipy_zz_honest", CAT, "honest twin: line and cell magics in the answer cells",
         both("%matplotlib inline\n" + CORRECT_LOSS + "\n%timeit -n 1 -r 1 huber_loss(1.0, 0.0)\n",
              "%%time\n" + CORRECT_GRAD), expect="full"),
]
