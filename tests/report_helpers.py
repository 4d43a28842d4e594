"""A tiny notebook for the report tests."""

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook


def tiny_notebook(path, leak=False):
    cells = [
        new_markdown_cell("# Tiny report\n\nA test."),
        new_code_cell("import pandas as pd\nfrom plotnine import ggplot, aes, geom_col\n"
                      "from pceval import report\nfrom pceval.plots import theme_nhs",
                      metadata={"tags": ["remove"]}),
        new_code_cell("report.summary_box('Everything is **fine**.', {'People': 1234, 'Ratio': 1.5})",
                      metadata={"tags": ["summary"]}),
        new_markdown_cell("## A table"),
        new_code_cell("df = pd.DataFrame({'q': [1, 2], 'people': [5, 1234]})\n"
                      "report.show_table(df, caption='People', counts=['people'])"),
        new_code_cell("report.show_figure(ggplot(df, aes('q', 'people')) + geom_col() + theme_nhs())"),
        new_code_cell("report.show_figure(ggplot(df, aes('q', 'people')) + geom_col())",
                      metadata={"tags": ["appendix"]}),
    ]
    if leak:
        cells.append(new_code_cell("df"))
    nb = new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                            "language": "python"}})
    nbformat.write(nb, path)
    return path
