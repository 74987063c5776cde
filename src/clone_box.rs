//! `Clone` for boxed trait objects, written once.
//!
//! A trait object cannot require `Clone` (it is not object-safe), so each extensible trait
//! (`Layer`, `Loss`, `Constraint`, …) gets a supertrait with a `clone_box` method that every
//! `Clone` implementor receives from one blanket impl: an implementation outside the crate only
//! derives `Clone`.

/// Defines the supertrait `$clone` of `$trait` with `fn clone_box(&self) -> Box<dyn $trait>`,
/// implements it for every `T: $trait + Clone + 'static`, and implements `Clone` for
/// `Box<dyn $trait>` through it.
macro_rules! clone_box_trait {
    ($(#[$doc:meta])* $clone:ident for $trait:ident) => {
        $(#[$doc])*
        pub trait $clone {
            /// A boxed copy of `self` (state included); implemented for every `Clone` type.
            fn clone_box(&self) -> Box<dyn $trait>;
        }

        impl<T: $trait + Clone + 'static> $clone for T {
            fn clone_box(&self) -> Box<dyn $trait> {
                Box::new(self.clone())
            }
        }

        impl Clone for Box<dyn $trait> {
            fn clone(&self) -> Self {
                // Through the trait object: `Box<dyn $trait>` may itself implement `$trait`.
                (**self).clone_box()
            }
        }
    };
}

pub(crate) use clone_box_trait;
