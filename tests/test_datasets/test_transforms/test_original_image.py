# Copyright (c) mmwsss contributors. All rights reserved.
import numpy as np
from mmcv.transforms import Resize

from mmwsss.datasets.transforms import KeepOriginalImage


def test_keeps_a_copy_of_the_loaded_image():
    image = np.arange(4 * 6 * 3, dtype=np.uint8).reshape(4, 6, 3)
    results = KeepOriginalImage()(
        dict(img=image, img_shape=(4, 6), ori_shape=(4, 6)))
    results = Resize(scale=(12, 8))(results)
    assert results['img'].shape == (8, 12, 3)
    np.testing.assert_array_equal(results['ori_img'], image)
    # a later in-place change of the image leaves the copy alone
    results['img'][:] = 0
    image[:] = 0
    assert results['ori_img'].any()
    other = KeepOriginalImage(key='full_img')(dict(img=image))
    assert 'full_img' in other
    assert repr(KeepOriginalImage()) == "KeepOriginalImage(key='ori_img')"
