import pytest

# The suite lives in the package (so installed copies of alsim can run it); let pytest rewrite its asserts.
pytest.register_assert_rewrite("alsim.benchmarking.kernel_suite")
