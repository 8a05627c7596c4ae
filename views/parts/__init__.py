"""What the pages share, by concern:

- ``state``:         the sentence and the model, kept across pages and in the link; the sentence box and picker.
- ``caches``:        the models, each sentence's trace and the charts and analyses the pages keep.
- ``charts``:        a chart with its camera button, the page's HTML download, the fields' names.
- ``labelled_data``: the labelled sentences *Across the data set* reads.
- ``research``:      the sections of the research tools (patching, connectivity, fixed points, integrated gradients).
- ``corpus``:        the section that reads a corpus index.
- ``models_side_by_side``: *Compare*'s section that reads one sentence with two or three models.
- ``startup``:       the server's warm-up before its first visitor.
- ``workers``:       the process beside the server that computes the heavy views, one at a time.
"""
