# Copyright (c) mmwsss contributors. All rights reserved.
"""Reading config nodes the way the registries read them, and a config
that formats its text once."""
from mmengine.config import Config


def type_name(node) -> str:
    """The registered name of a config node's ``type`` without its scope.

    ``dict(type='mmwsss.LoadCAMFile')`` and ``dict(type='LoadCAMFile')`` both
    give ``'LoadCAMFile'``; a class given as the type gives its name; a node
    that is not a dict or has no type gives ``''``.
    """
    if not isinstance(node, dict):
        return ''
    kind = node.get('type', '')
    if isinstance(kind, type):
        return kind.__name__
    return str(kind).split('.')[-1]


class FormatOnceConfig(Config):
    """A :class:`Config` that formats its text with yapf once per content.

    mmengine formats the whole config for every ``pretty_text``, and a
    runner asks five times for the same text (its log, the runtime info, the
    dumped config, the visualizer's copy, the writers' manifests): about a
    second each on a slow core, the largest cost after the imports of a
    short job. The formatted text is kept with the unformatted one it came
    from (which is cheap to build), so a config changed since is formatted
    anew. Deep copies, as the runner makes, keep it.
    """

    @classmethod
    def of(cls, cfg: Config) -> 'FormatOnceConfig':
        """The same config (sharing its contents) as this class."""
        other = cls.__new__(cls)
        # Config.__setattr__ writes into the config's contents
        for key, value in cfg.__dict__.items():
            object.__setattr__(other, key, value)
        return other

    @property
    def pretty_text(self) -> str:
        """The config as formatted Python code, as :class:`Config`'s."""
        formatting = self._format_python_code
        object.__setattr__(self, '_format_python_code', False)
        try:
            unformatted = super().pretty_text
        finally:
            object.__setattr__(self, '_format_python_code', formatting)
        if not formatting:
            return unformatted
        kept = self.__dict__.get('_formatted_text')
        if kept is None or kept[0] != unformatted:
            kept = (unformatted, super().pretty_text)
            object.__setattr__(self, '_formatted_text', kept)
        return kept[1]
