# Copyright (c) mmwsss contributors. All rights reserved.
import pytest

from mmwsss.datasets.synthvoc import (SYNTHVOC_DEFAULT_CLASSES,
                                      SYNTHVOC_MAX_CLASSES,
                                      SYNTHVOC_MAX_WSOL_CLASSES,
                                      synthvoc_classes, synthvoc_palette,
                                      voc_palette)
from mmwsss.datasets.synthvoc.design import (_WSOL_FIRST_CODE,
                                             _class_designs, _emblem_code,
                                             _wsol_class_names)


def test_voc_palette():
    palette = voc_palette()
    assert palette.shape == (256, 3) and palette.dtype.name == 'uint8'
    assert palette[:4].tolist() == [[0, 0, 0], [128, 0, 0], [0, 128, 0],
                                    [128, 128, 0]]
    assert palette[255].tolist() == [224, 224, 192]
    assert synthvoc_palette(2) == palette[:3].tolist()


def test_classes_beyond_the_named_ones():
    classes, habitats = synthvoc_classes(8)
    assert classes[:6] == list(SYNTHVOC_DEFAULT_CLASSES)
    assert classes[6:] == ['class07', 'class08']
    assert habitats[6:] == ['habitat07', 'habitat08']
    with pytest.raises(ValueError, match='num_classes'):
        synthvoc_classes(SYNTHVOC_MAX_CLASSES + 1)


def test_emblem_codes():
    assert len({_emblem_code(i) for i in range(360)}) == 360
    for i in range(359):
        (hue, shape, _), (next_hue, next_shape, _) = (_emblem_code(i),
                                                      _emblem_code(i + 1))
        assert hue != next_hue and shape != next_shape, i


def test_wsol_designs_never_share_an_emblem_with_synthvoc():
    voc = _class_designs(synthvoc_classes(SYNTHVOC_MAX_CLASSES)[0])
    names = _wsol_class_names(SYNTHVOC_MAX_WSOL_CLASSES)
    wsol = _class_designs(names, _WSOL_FIRST_CODE)
    emblems = {(tuple(d.emblem_rgb.tolist()), d.emblem_shape,
                d.emblem_pattern)
               for d in voc + wsol}
    assert len(emblems) == len(voc) + len(wsol)
    assert len(set(names)) == len(names)
    assert [d.habitat for d in wsol] == list(range(len(wsol)))
