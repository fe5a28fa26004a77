import pytest

from plugin.shopify.shop_domain import normalize_shop_domain


@pytest.mark.parametrize("value, expected", [
    ("my-store.myshopify.com", "my-store.myshopify.com"),
    ("  My-Store.MyShopify.com ", "my-store.myshopify.com"),
    ("https://my-store.myshopify.com", "my-store.myshopify.com"),
    ("HTTP://my-store.myshopify.com/admin/apps?x=1", "my-store.myshopify.com"),
    ("https://store1.myshopify.com#frag", "store1.myshopify.com"),
])
def test_a_merchant_typed_shop_is_accepted_in_any_usual_form(value, expected):
    assert normalize_shop_domain(value) == expected


@pytest.mark.parametrize("value", [
    None, "", 42, "my-store", "my-store.com", "my-store.myshopify.io",
    "evil.com/my-store.myshopify.com", "my-store.myshopify.com.evil.com",
    "my-store.myshopify.com@evil.com", "my-store.myshopify.com:443",
    "-store.myshopify.com", "my_store.myshopify.com", "sub.my-store.myshopify.com",
    "my-store.myshopify.com\nX-Evil: 1", "javascript:alert(1)//x.myshopify.com",
    "ftp://my-store.myshopify.com", "a" * 300 + ".myshopify.com",
])
def test_anything_that_is_not_a_myshopify_store_is_refused(value):
    assert normalize_shop_domain(value) is None
